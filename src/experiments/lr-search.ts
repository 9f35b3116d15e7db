// Learning-rate search the paper's way, as pure logic over an `evaluate(lr) -> val ppl` callback:
// start at the base LR, step up by `factor` while validation perplexity improves, and try one step
// down from the base when the first step up is worse. LRs are canonicalised (6 significant digits)
// so a resumed sweep derives the same run folders. No training and no I/O here.

/** The LR search settings of a sweep spec (`lrs: {base, factor, untilWorse, max}`). */
export interface LrSearchOptions {
  base: number;
  /** Multiplier between neighbouring LRs (paper: 1.5). */
  factor: number;
  /** Stop stepping up at the first LR that is not better (else try all `max` upward LRs). */
  untilWorse: boolean;
  /** Most LRs tried upward, the base included (the one step down is extra). */
  max: number;
}

export interface LrTrial {
  lr: number;
  ppl: number;
}

export interface LrSearchResult {
  best: number;
  bestPpl: number;
  /** Every LR evaluated, in the order tried. */
  tried: LrTrial[];
}

/** `x` rounded to 6 significant digits (3e-4 x 1.5^3 = 1.0125e-3 exactly, not 1.0124999e-3). */
export function canonicalLr(x: number): number {
  return Number(x.toPrecision(6));
}

/** The k-th LR of the ladder: base x factor^k (k may be negative). */
export function lrStep(base: number, factor: number, k: number): number {
  return canonicalLr(base * factor ** k);
}

/** Compact LR text for names and tables: 3e-4, 4.5e-4, 1.0125e-3. */
export function formatLr(lr: number): string {
  return lr.toExponential().replace("e+", "e");
}

/** NaN or infinite perplexity (a diverged run) ranks below every finite one. */
function rank(ppl: number): number {
  return Number.isFinite(ppl) ? ppl : Number.POSITIVE_INFINITY;
}

/**
 * Runs the search; `evaluate` trains (or looks up) one run and returns its validation perplexity.
 * Ties count as "not better": the smaller LR wins.
 */
export async function searchLr(
  opts: LrSearchOptions,
  evaluate: (lr: number) => Promise<number>,
): Promise<LrSearchResult> {
  const tried: LrTrial[] = [];
  const run = async (lr: number): Promise<number> => {
    const ppl = await evaluate(lr);
    tried.push({ lr, ppl });
    return rank(ppl);
  };
  let best = lrStep(opts.base, opts.factor, 0);
  let bestPpl = await run(best);
  let firstUpWorse = false;
  for (let k = 1; k < opts.max; k++) {
    const lr = lrStep(opts.base, opts.factor, k);
    const ppl = await run(lr);
    if (ppl < bestPpl) {
      best = lr;
      bestPpl = ppl;
      continue;
    }
    if (k === 1) firstUpWorse = true;
    if (opts.untilWorse) break;
  }
  if (firstUpWorse) {
    const lr = lrStep(opts.base, opts.factor, -1);
    const ppl = await run(lr);
    if (ppl < bestPpl) {
      best = lr;
      bestPpl = ppl;
    }
  }
  return { best, bestPpl, tried };
}

/** How many runs one search can take: [fewest, most] (seeds other than the first not counted). */
export function searchRunBounds(opts: Pick<LrSearchOptions, "untilWorse" | "max">): [number, number] {
  const { max } = opts;
  if (max === 1) return [1, 1];
  if (!opts.untilWorse) return [max, max + 1];
  return [Math.min(max, 3), Math.max(max, 3)];
}
