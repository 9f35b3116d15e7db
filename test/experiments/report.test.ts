// Tests for the report files: from the paper's table and from sweep records, report.md and
// summary.csv carry every row and the frontier marks, pareto.svg is one SVG document holding each
// config's label and one symbol per point, pareto.png has the PNG signature and real size; and the
// label layout keeps labels off each other.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { placeLabels } from "../../src/experiments/label-layout.js";
import { parsePaperTable } from "../../src/experiments/paper-table.js";
import { formatCsv, formatMarkdown, writeReport } from "../../src/experiments/report.js";
import type { SummaryRow } from "../../src/experiments/summary.js";
import { paperCsv } from "./paper-fixture.js";

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

test("report from the paper's table: Markdown, CSV, SVG and PNG", async () => {
  const rows = parsePaperTable(paperCsv());
  const outDir = mkdtempSync(join(tmpdir(), "study-report-"));
  const files = await writeReport(rows, { outDir, title: "paper 1B", source: "fixture" });

  const md = readFileSync(files.markdown, "utf8");
  assert.match(md, /^# paper 1B/);
  const tableRows = md.split("\n").filter((l) => /^\| H\d+/.test(l));
  assert.equal(tableRows.length, 20);
  assert.equal(tableRows.filter((l) => l.includes("★")).length, 8);
  assert.match(md, /\| H128-MQA-CLA2 \| MQA\+CLA2 \| 1\.05B \| 5120 \| 3e-4 \| 13\.60 \| 1 \| ★ \|/);
  assert.match(md, /\| H64-MQA \| MHA\/GQA\/MQA \| [^|]+ \| 5120 \| 3e-4 \| 13\.81 \| 1 \| {2}\|/);
  assert.match(md, /- H64-MQA-CLA2 \(MQA\+CLA2\): 2560 B\/token, val ppl 13\.89/);
  assert.match(md, /!\[[^\]]*\]\(pareto\.svg\)/);

  const csv = readFileSync(files.csv, "utf8").trim().split("\n");
  assert.equal(
    csv[0],
    "config,group,params,kv_bytes_per_token_16bit,best_lr,val_ppl_mean,val_ppl_sd,val_ppl_min,val_ppl_max,n_seeds,pareto",
  );
  assert.equal(csv.length, 21);
  const byName = new Map(csv.slice(1).map((l) => [l.split(",")[0]!, l.split(",")]));
  assert.deepEqual(byName.get("H512-MQA-CLA2")!.slice(3, 6), ["20480", "0.0003", "13.49"]);
  assert.equal(byName.get("H512-MQA-CLA2")![10], "false");
  assert.equal(byName.get("H90-MQA-CLA2")![10], "true");

  const svg = readFileSync(files.svg, "utf8");
  assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.ok(svg.trimEnd().endsWith("</svg>"));
  const texts = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
  for (const r of rows) assert.ok(texts.includes(r.config), `label ${r.config} missing from the SVG`);
  assert.ok(texts.includes("KV cache bytes per token (16-bit)"));
  for (const g of ["MQA+CLA2", "GQA+CLA2", "CLA&gt;2", "non-uniform", "MHA/GQA/MQA"]) {
    assert.ok(texts.includes(g), `legend entry ${g} missing`);
  }

  const png = readFileSync(files.png);
  assert.deepEqual([...png.subarray(0, 8)], PNG_SIGNATURE);
  assert.ok(png.byteLength > 30_000, `PNG only ${png.byteLength} bytes`);
  // IHDR width/height: the 2x render of a plot at least 760 px wide
  assert.ok(png.readUInt32BE(16) > 1500 && png.readUInt32BE(20) > 900);
});

test("report from sweep rows: spread, LR sweep section and diverged rows", () => {
  const row = (config: string, kv: number, ppl: number, extra: Partial<SummaryRow> = {}): SummaryRow => ({
    config,
    group: "MQA+CLA2",
    params: 1_500_000,
    kvBytesPerToken16: kv,
    bestLr: 6.75e-4,
    pplMean: ppl,
    pplSd: 0.25,
    pplMin: ppl - 0.2,
    pplMax: ppl + 0.3,
    nSeeds: 3,
    comparedSeeds: [1],
    lrs: [
      { lr: 4.5e-4, pplMean: ppl + 1, pplCompared: ppl + 1, seeds: [1] },
      { lr: 6.75e-4, pplMean: ppl, pplCompared: ppl - 0.5, seeds: [1, 2, 3] },
    ],
    pareto: true,
    ...extra,
  });
  const rows = [row("a", 192, 30.1234), row("b", 384, Number.NaN, { pareto: false })];
  const md = formatMarkdown(rows, { title: "t" });
  assert.match(md, /\| a \| MQA\+CLA2 \| 1\.50M \| 192 \| 6\.75e-4 \| 30\.12 ± 0\.25 \| 3 \| ★ \|/);
  assert.match(md, /\| b \|.*\| diverged \|/);
  assert.match(md, /## Learning-rate sweeps/);
  assert.match(md, /\| a \| 6\.75e-4 \(best\) \| 29\.623 \(seed 1\) \| 30\.123 \| 1, 2, 3 \|/);
  assert.match(md, /\| a \| 4\.5e-4 \| 31\.123 \(seed 1\) \| 31\.123 \| 1 \|/);
  const csv = formatCsv(rows).split("\n");
  assert.equal(csv[1], "a,MQA+CLA2,1500000,192,0.000675,30.1234,0.25,29.9234,30.4234,3,true");
});

test("label layout: crowded points get non-overlapping labels inside the bounds", () => {
  const pts = [0, 1, 2, 3, 4].map((i) => ({ x: 100, y: 100 + i * 4, text: `label-${i}` }));
  const placed = placeLabels(pts, { width: 400, height: 300, fontSize: 10, charWidth: 0.6 });
  const boxes = placed.map((l) => {
    const w = l.text.length * 6;
    const h = 11.5;
    const x0 = l.align === "left" ? l.x : l.align === "right" ? l.x - w : l.x - w / 2;
    const y0 = l.baseline === "top" ? l.y : l.baseline === "bottom" ? l.y - h : l.y - h / 2;
    return { x0, y0, x1: x0 + w, y1: y0 + h };
  });
  for (let i = 0; i < boxes.length; i++) {
    const a = boxes[i]!;
    assert.ok(a.x0 >= 0 && a.y0 >= 0 && a.x1 <= 400 && a.y1 <= 300);
    for (let j = i + 1; j < boxes.length; j++) {
      const b = boxes[j]!;
      const disjoint = a.x1 <= b.x0 || b.x1 <= a.x0 || a.y1 <= b.y0 || b.y1 <= a.y0;
      assert.ok(disjoint, `labels ${i} and ${j} overlap`);
    }
  }
  assert.ok(
    placed.some((l) => l.leader),
    "the crowded ones move to the outer ring with a leader",
  );
});
