// Greedy placement of point labels in pixel space: each label takes the first of eight anchors
// around its point (two rings of distance) that overlaps no placed label, no point and stays in
// bounds; when none is free it takes the least-overlapping one (every label is shown). Text width
// is estimated from the character count (no font metrics in a headless renderer). Pure geometry.

export interface LabelPoint {
  /** Point centre in pixels. */
  x: number;
  y: number;
  text: string;
  /** Radius to keep clear around this point (default: options.pointRadius). */
  r?: number;
}

export interface PlacedLabel {
  text: string;
  /** Text anchor in pixels, with vega's align / baseline semantics. */
  x: number;
  y: number;
  align: "left" | "right" | "center";
  baseline: "top" | "middle" | "bottom";
  /** The point the label belongs to; `leader` when it sits on the outer ring (draw a line). */
  px: number;
  py: number;
  leader: boolean;
}

export interface LabelLayoutOptions {
  width: number;
  height: number;
  fontSize?: number;
  /** Average glyph width as a fraction of the font size (DejaVu Sans: about 0.6). */
  charWidth?: number;
  /** Radius of the point symbols to keep clear (px). */
  pointRadius?: number;
  /** How far labels may extend past the plot area's right edge, into the margin (px). */
  padding?: number;
  /** Other things to keep labels off (lines, legends), as pixel boxes. */
  obstacles?: readonly Box[];
}

export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

function overlap(a: Box, b: Box): number {
  const w = Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0);
  const h = Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0);
  return w > 0 && h > 0 ? w * h : 0;
}

// [dx, dy, align, baseline] per anchor, in units of the ring distance
const ANCHORS: [number, number, PlacedLabel["align"], PlacedLabel["baseline"]][] = [
  [1, 0, "left", "middle"],
  [-1, 0, "right", "middle"],
  [0.7, -0.7, "left", "bottom"],
  [0.7, 0.7, "left", "top"],
  [0, -1, "center", "bottom"],
  [0, 1, "center", "top"],
  [-0.7, -0.7, "right", "bottom"],
  [-0.7, 0.7, "right", "top"],
];

function boxOf(l: PlacedLabel, w: number, h: number): Box {
  const x0 = l.align === "left" ? l.x : l.align === "right" ? l.x - w : l.x - w / 2;
  const y0 = l.baseline === "top" ? l.y : l.baseline === "bottom" ? l.y - h : l.y - h / 2;
  return { x0, y0, x1: x0 + w, y1: y0 + h };
}

/** One placed label per point, in input order (earlier points get first choice). */
export function placeLabels(points: readonly LabelPoint[], opts: LabelLayoutOptions): PlacedLabel[] {
  const fontSize = opts.fontSize ?? 10;
  const charW = (opts.charWidth ?? 0.6) * fontSize;
  const r = opts.pointRadius ?? 6;
  const pad = opts.padding ?? 0;
  const bounds: Box = { x0: 0, y0: 0, x1: opts.width + pad, y1: opts.height };
  const pointBoxes = points.map((p) => {
    const pr = p.r ?? r;
    return { x0: p.x - pr, y0: p.y - pr, x1: p.x + pr, y1: p.y + pr };
  });
  const placed: Box[] = [...(opts.obstacles ?? [])];
  return points.map((p, i) => {
    const w = p.text.length * charW;
    const h = fontSize * 1.15;
    let best: { label: PlacedLabel; box: Box; cost: number } | undefined;
    const pr = p.r ?? r;
    for (const [ringIndex, ring] of [pr + 2, 2.2 * pr + 8].entries()) {
      for (const [dx, dy, align, baseline] of ANCHORS) {
        const label: PlacedLabel = {
          text: p.text,
          x: p.x + dx * ring,
          y: p.y + dy * ring,
          align,
          baseline,
          px: p.x,
          py: p.y,
          leader: ringIndex > 0,
        };
        const box = boxOf(label, w, h);
        const inside = overlap(box, bounds);
        let cost = w * h - inside; // area out of bounds
        for (const b of placed) cost += overlap(box, b);
        pointBoxes.forEach((b, j) => {
          if (j !== i) cost += overlap(box, b);
        });
        if (!best || cost < best.cost) best = { label, box, cost };
        if (cost === 0) break;
      }
      if (best && best.cost === 0) break;
    }
    placed.push(best!.box);
    return best!.label;
  });
}
