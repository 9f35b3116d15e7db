// Token sampling from one row of logits: greedy, temperature, top-k, top-p (nucleus) and an
// optional repetition penalty, with a seeded PRNG per request (equal seeds, equal tokens).
// Order (as in HF transformers): penalty -> temperature -> top-k -> top-p -> draw. Compute in f64.
// It does not run the model or batch rows: the engine calls it once per sequence per step.
import { RequestError, SamplingError } from "./errors.js";
import { createRng, type Rng } from "./rng.js";

export interface SamplingParams {
  /** 0 = greedy (argmax, lowest id on ties). Default 1. */
  temperature?: number;
  /** Keep the k most likely tokens; 0 = off. Default 0. */
  topK?: number;
  /** Keep the smallest most-likely prefix whose mass >= topP; 1 = off. Default 1. */
  topP?: number;
  /** CTRL-style penalty > 0 for tokens already seen (positive logits / p, negative * p); 1 = off. */
  repetitionPenalty?: number;
}

/** Throws RequestError("invalid-sampling") naming the field, the value and the valid range. */
export function validateSamplingParams(p: SamplingParams): Required<SamplingParams> {
  const temperature = p.temperature ?? 1;
  const topK = p.topK ?? 0;
  const topP = p.topP ?? 1;
  const repetitionPenalty = p.repetitionPenalty ?? 1;
  const bad = (field: string, v: unknown, range: string) =>
    new RequestError("invalid-sampling", `${field} ${String(v)} is invalid: use ${range}`);
  if (typeof temperature !== "number" || !Number.isFinite(temperature) || temperature < 0)
    throw bad("temperature", temperature, "a finite number >= 0 (0 = greedy)");
  if (typeof topK !== "number" || !Number.isInteger(topK) || topK < 0)
    throw bad("topK", topK, "an integer >= 0 (0 = off)");
  if (typeof topP !== "number" || !(topP > 0 && topP <= 1))
    throw bad("topP", topP, "a number in (0, 1] (1 = off)");
  if (typeof repetitionPenalty !== "number" || !Number.isFinite(repetitionPenalty) || repetitionPenalty <= 0)
    throw bad("repetitionPenalty", repetitionPenalty, "a finite number > 0 (1 = off)");
  return { temperature, topK, topP, repetitionPenalty };
}

/** The candidate tokens after filtering (most likely first when top-k/top-p is on), with their renormalised probabilities. */
export interface Distribution {
  ids: Int32Array;
  probs: Float64Array;
}

/** Throws SamplingError for NaN / +Infinity logits or a row that masks every token. */
export function checkLogits(logits: ArrayLike<number>): void {
  let any = false;
  for (let i = 0; i < logits.length; i++) {
    const x = logits[i]!;
    if (Number.isNaN(x) || x === Number.POSITIVE_INFINITY) {
      throw new SamplingError(
        `logits[${i}] is ${x}: the forward pass diverged (check the weights and the backend)`,
      );
    }
    if (x !== Number.NEGATIVE_INFINITY) any = true;
  }
  if (!any) throw new SamplingError(`all ${logits.length} logits are -Infinity: nothing can be sampled`);
}

function penalised(logits: ArrayLike<number>, penalty: number, history: ArrayLike<number>): Float64Array {
  const x = Float64Array.from(logits as ArrayLike<number>);
  if (penalty !== 1) {
    const seen = new Set<number>();
    for (let i = 0; i < history.length; i++) seen.add(history[i]!);
    for (const t of seen) if (t >= 0 && t < x.length) x[t] = x[t]! > 0 ? x[t]! / penalty : x[t]! * penalty;
  }
  return x;
}

/** The filtered distribution sampling draws from (temperature > 0). Exposed for tests and logprobs. */
export function filteredDistribution(
  logits: ArrayLike<number>,
  params: SamplingParams,
  history: ArrayLike<number> = [],
): Distribution {
  const p = validateSamplingParams(params);
  checkLogits(logits);
  const temperature = p.temperature === 0 ? 1 : p.temperature;
  const x = penalised(logits, p.repetitionPenalty, history);
  // Candidates sorted by logit desc, id asc on ties (a total order: deterministic).
  let ids = Array.from({ length: x.length }, (_, i) => i).filter((i) => x[i] !== Number.NEGATIVE_INFINITY);
  if (p.topK > 0 || p.topP < 1) ids.sort((a, b) => x[b]! - x[a]! || a - b);
  if (p.topK > 0 && p.topK < ids.length) ids = ids.slice(0, p.topK);
  let max = Number.NEGATIVE_INFINITY;
  for (const i of ids) if (x[i]! > max) max = x[i]!;
  let probs = ids.map((i) => Math.exp((x[i]! - max) / temperature));
  let z = probs.reduce((s, v) => s + v, 0);
  if (p.topP < 1) {
    let mass = 0;
    let keep = 0;
    while (keep < probs.length && mass < p.topP * z) mass += probs[keep++]!;
    ids = ids.slice(0, keep);
    probs = probs.slice(0, keep);
    z = mass;
  }
  return { ids: Int32Array.from(ids), probs: Float64Array.from(probs, (v) => v / z) };
}

/** Inverse-CDF draw from a distribution with one uniform number. */
export function drawFrom(dist: Distribution, rng: Rng): number {
  const u = rng.next();
  let c = 0;
  for (let i = 0; i < dist.ids.length; i++) {
    c += dist.probs[i]!;
    if (u < c) return dist.ids[i]!;
  }
  return dist.ids[dist.ids.length - 1]!; // rounding: the cumulative sum ended just below 1
}

function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}

/** One request's sampler: its parameters and its own PRNG stream. */
export class Sampler {
  readonly params: Required<SamplingParams>;
  private readonly rng: Rng;

  constructor(params: SamplingParams, seed: number) {
    this.params = validateSamplingParams(params);
    if (!Number.isInteger(seed) || seed < 0 || seed > Number.MAX_SAFE_INTEGER) {
      throw new RequestError("invalid-sampling", `seed ${seed} is invalid: use an integer in [0, 2^53)`);
    }
    this.rng = createRng(seed);
  }

  /** Greedy without a repetition penalty: the pick is the logits' argmax (the device may take it). */
  isPlainGreedy(): boolean {
    return this.params.temperature === 0 && this.params.repetitionPenalty === 1;
  }

  /** Whether sample() reads its `history` (only the repetition penalty does). */
  usesHistory(): boolean {
    return this.params.repetitionPenalty !== 1;
  }

  /** Picks the next token from logits (V); `history` = tokens so far, for the repetition penalty. */
  sample(logits: ArrayLike<number>, history: ArrayLike<number> = []): number {
    if (this.params.temperature === 0) {
      checkLogits(logits);
      const p = this.params.repetitionPenalty;
      return argmax(p === 1 ? logits : penalised(logits, p, history));
    }
    return drawFrom(filteredDistribution(logits, this.params, history), this.rng);
  }
}
