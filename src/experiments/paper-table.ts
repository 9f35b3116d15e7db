// The paper's design-space table as report input (`crosslayer report --paper FILE.csv`): CSV with
// columns model, kv_bytes_per_token_16bit, val_ppl and optionally group (the format of
// data/cla-1b-table1.csv). Parameters come from the preset of the same name when there is one.
// One row per model, one "seed"; the paper trained these at a fixed LR of 3e-4.
import { readFileSync } from "node:fs";
import { FormatError } from "../errors.js";
import { countParams } from "../model/accounting.js";
import { findPreset } from "../model/presets/index.js";
import { configGroup, groupFromLabel } from "./groups.js";
import { markPareto, type SummaryRow } from "./summary.js";

/** The LR of the paper's design-space runs. */
export const PAPER_FIXED_LR = 3e-4;

const REQUIRED = ["model", "kv_bytes_per_token_16bit", "val_ppl"] as const;

/** Rows of a paper-format CSV, Pareto flags set. `source` names the file in errors. */
export function parsePaperTable(text: string, source = "paper table"): SummaryRow[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim());
  const head = (lines[0] ?? "").split(",").map((h) => h.trim());
  const missing = REQUIRED.filter((c) => !head.includes(c));
  if (missing.length) {
    throw new FormatError(
      `${source}: missing column(s) ${missing.join(", ")}; the header must name ${REQUIRED.join(", ")} ` +
        `(and optionally group), got "${lines[0] ?? ""}"`,
    );
  }
  const col = (cells: string[], name: string) => cells[head.indexOf(name)]?.trim() ?? "";
  const rows = lines.slice(1).map((line, i): SummaryRow => {
    const cells = line.split(",");
    const model = col(cells, "model");
    const kv = Number(col(cells, "kv_bytes_per_token_16bit"));
    const ppl = Number(col(cells, "val_ppl"));
    if (!model || !(kv > 0) || !(ppl > 0)) {
      throw new FormatError(
        `${source} line ${i + 2}: need a model name, kv_bytes_per_token_16bit > 0 and val_ppl > 0, got "${line}"`,
      );
    }
    const preset = findPreset(model);
    const label = head.includes("group") ? col(cells, "group") : "";
    const group = groupFromLabel(label) ?? (preset ? configGroup(preset) : undefined);
    if (!group) {
      throw new FormatError(
        `${source} line ${i + 2}: unknown group "${label}" for ${model}: use baseline, MQA+CLA2, GQA+CLA2, ` +
          "CLA>2 or nonuniform",
      );
    }
    return {
      config: model,
      group,
      ...(preset ? { params: countParams(preset).total } : {}),
      kvBytesPerToken16: kv,
      bestLr: PAPER_FIXED_LR,
      pplMean: ppl,
      pplSd: 0,
      pplMin: ppl,
      pplMax: ppl,
      nSeeds: 1,
      comparedSeeds: [0],
      lrs: [{ lr: PAPER_FIXED_LR, pplMean: ppl, pplCompared: ppl, seeds: [0] }],
      pareto: false,
    };
  });
  return markPareto(rows);
}

export function loadPaperTable(path: string): SummaryRow[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new FormatError(`cannot read paper table ${path}: no such readable file`);
  }
  return parsePaperTable(text, path);
}
