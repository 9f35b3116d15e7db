// The Pareto plot in the paper's manner: validation perplexity vs KV bytes/token (log x), one
// colour and marker per design-space group, the frontier as a dashed step line with ringed points,
// every point labelled with its config name (label-layout.ts keeps labels off each other).
// A Vega-Lite spec compiled to Vega, rendered headless to SVG (no browser), and SVG to PNG by resvg.
import { Resvg } from "@resvg/resvg-js";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { CONFIG_GROUPS } from "./groups.js";
import { type Box, placeLabels } from "./label-layout.js";
import type { SummaryRow } from "./summary.js";

export interface PlotOptions {
  title?: string;
  subtitle?: string;
  /** Plot area size in CSS pixels (default 760 x 460). */
  width?: number;
  height?: number;
}

const COLOURS = ["#4c4c4c", "#d62728", "#1f77b4", "#ff7f0e", "#2ca02c"];
const SHAPES = ["circle", "square", "diamond", "triangle-up", "cross"];
/** Fonts resvg finds on most systems; the first present wins. */
const FONT = "DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif";

/** The Vega-Lite spec (data inlined). Exposed for tests and for users who want to restyle it. */
export function paretoVegaLiteSpec(rows: readonly SummaryRow[], opts: PlotOptions = {}): TopLevelSpec {
  const values = rows
    .filter((r) => Number.isFinite(r.pplMean))
    .map((r) => ({
      config: r.config,
      group: r.group,
      kv: r.kvBytesPerToken16,
      ppl: r.pplMean,
      lo: r.pplMean - r.pplSd,
      hi: r.pplMean + r.pplSd,
      pareto: r.pareto,
    }));
  const x = {
    field: "kv",
    type: "quantitative",
    title: "KV cache bytes per token (16-bit)",
    scale: { type: "log", nice: false, padding: 24 },
    axis: { grid: true },
  } as const;
  const y = {
    field: "ppl",
    type: "quantitative",
    title: "validation perplexity",
    scale: { zero: false, padding: 16 },
  } as const;
  // only the groups present, each keeping its fixed colour and marker
  const present = CONFIG_GROUPS.map((g, i) => ({ g, i })).filter(({ g }) => rows.some((r) => r.group === g));
  const domain = present.map(({ g }) => g);
  const groupScale = { domain, range: present.map(({ i }) => COLOURS[i]!) };
  const shapeScale = { domain, range: present.map(({ i }) => SHAPES[i]!) };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: opts.title ?? "Validation perplexity vs KV cache size",
      subtitle:
        opts.subtitle ??
        "ringed points on the dashed step line: the Pareto frontier (lower and left is better)" +
          (rows.some((r) => r.nSeeds > 1) ? "; bars: ± 1 sd over seeds" : ""),
    },
    width: opts.width ?? 760,
    height: opts.height ?? 460,
    background: "white",
    config: { font: FONT, legend: { orient: "right" } },
    data: { values },
    layer: [
      {
        transform: [{ filter: "datum.pareto" }],
        mark: {
          type: "line",
          interpolate: "step-after",
          color: "#888888",
          strokeDash: [5, 4],
          strokeWidth: 1.5,
        },
        encoding: { x, y, order: { field: "kv", type: "quantitative" } },
      },
      {
        mark: { type: "rule", strokeWidth: 1.2 },
        encoding: {
          x,
          y: { field: "lo", type: "quantitative" },
          y2: { field: "hi" },
          color: { field: "group", type: "nominal", scale: groupScale, title: "group" },
        },
      },
      {
        transform: [{ filter: "datum.pareto" }],
        mark: {
          type: "point",
          shape: "circle",
          filled: false,
          size: 260,
          color: "#222222",
          strokeWidth: 1.2,
        },
        encoding: { x, y },
      },
      {
        name: "points",
        mark: { type: "point", filled: true, size: 80, opacity: 1 },
        encoding: {
          x,
          y,
          color: { field: "group", type: "nominal", scale: groupScale, title: "group" },
          shape: {
            field: "group",
            type: "nominal",
            scale: shapeScale,
            title: "group",
          },
          tooltip: [{ field: "config" }, { field: "kv" }, { field: "ppl" }],
        },
      },
    ],
  } as TopLevelSpec;
}

interface SceneItem {
  x?: number;
  y?: number;
  name?: string;
  datum?: { config?: string; pareto?: boolean };
  items?: SceneItem[];
}

/** Depth-first search of the scenegraph for the mark named `name`. */
function findMark(node: SceneItem | undefined, name: string): SceneItem | undefined {
  if (!node) return undefined;
  if (node.name === name) return node;
  for (const child of node.items ?? []) {
    const hit = findMark(child, name);
    if (hit) return hit;
  }
  return undefined;
}

const LABEL_FONT_SIZE = 10;
/** Radii (px) of the filled symbols (size 80) and of the frontier rings (size 260), plus a margin. */
const POINT_RADIUS = 6;
const FRONTIER_RING_RADIUS = 10;

/** Thin boxes along the frontier's step-after line (horizontal, then vertical, point to point). */
function stepLineBoxes(pts: readonly { x: number; y: number }[]): Box[] {
  const sorted = [...pts].sort((a, b) => a.x - b.x);
  const boxes: Box[] = [];
  for (let i = 0; i + 1 < sorted.length; i++) {
    const a = sorted[i]!;
    const b = sorted[i + 1]!;
    boxes.push({ x0: a.x, y0: a.y - 1.5, x1: b.x, y1: a.y + 1.5 });
    boxes.push({ x0: b.x - 1.5, y0: Math.min(a.y, b.y), x1: b.x + 1.5, y1: Math.max(a.y, b.y) });
  }
  return boxes;
}

/**
 * Renders once to learn the points' pixel positions, places the labels (label-layout.ts), and
 * adds them as a text mark; the scales do not change, so the positions hold in the final render.
 */
async function withLabels(spec: vega.Spec): Promise<vega.Spec> {
  const view = new vega.View(vega.parse(spec), { renderer: "none" });
  await view.runAsync();
  const mark = findMark((view.scenegraph() as unknown as { root: SceneItem }).root, "points_marks");
  const width = view.width();
  const height = view.height();
  view.finalize();
  const items = (mark?.items ?? []).filter((i) => i.datum?.config !== undefined);
  // frontier points choose first: their labels matter most
  items.sort((a, b) => Number(Boolean(b.datum?.pareto)) - Number(Boolean(a.datum?.pareto)));
  const points = items.map((i) => ({
    x: i.x ?? 0,
    y: i.y ?? 0,
    text: i.datum!.config!,
    r: i.datum?.pareto ? FRONTIER_RING_RADIUS : POINT_RADIUS,
  }));
  const labels = placeLabels(points, {
    width,
    height,
    fontSize: LABEL_FONT_SIZE,
    charWidth: 0.68,
    obstacles: stepLineBoxes(points.filter((_, k) => items[k]!.datum?.pareto)),
  });
  const leaders = labels.filter((l) => l.leader).map((l) => ({ x: l.px, y: l.py, x2: l.x, y2: l.y }));
  const rule = {
    type: "rule",
    name: "label_leader_rules",
    from: { data: "label_leaders" },
    encode: {
      enter: {
        x: { field: "x" },
        y: { field: "y" },
        x2: { field: "x2" },
        y2: { field: "y2" },
        stroke: { value: "#999999" },
        strokeWidth: { value: 0.8 },
      },
    },
  };
  const text = {
    type: "text",
    name: "label_texts",
    from: { data: "point_labels" },
    encode: {
      enter: {
        x: { field: "x" },
        y: { field: "y" },
        text: { field: "text" },
        align: { field: "align" },
        baseline: { field: "baseline" },
        fontSize: { value: LABEL_FONT_SIZE },
        fill: { value: "#222222" },
      },
    },
  };
  return {
    ...spec,
    data: [
      ...(spec.data ?? []),
      { name: "point_labels", values: labels },
      { name: "label_leaders", values: leaders },
    ],
    marks: [...(spec.marks ?? []), rule as unknown as vega.Mark, text as unknown as vega.Mark],
  } as vega.Spec;
}

/** The plot as a standalone SVG document. */
export async function renderParetoSvg(rows: readonly SummaryRow[], opts: PlotOptions = {}): Promise<string> {
  const compiled = compile(paretoVegaLiteSpec(rows, opts)).spec as vega.Spec;
  const view = new vega.View(vega.parse(await withLabels(compiled)), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** SVG to PNG at `scale` x its CSS size, system fonts loaded for the text. */
export function svgToPng(svg: string, opts: { scale?: number } = {}): Uint8Array {
  const r = new Resvg(svg, {
    fitTo: { mode: "zoom", value: opts.scale ?? 2 },
    background: "white",
    font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans", sansSerifFamily: "DejaVu Sans" },
  });
  return r.render().asPng();
}
