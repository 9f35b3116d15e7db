// When a generation ends and which text is emitted: stop strings over streamed decoded text (a
// stop string split across tokens is caught; the text before it is emitted, the stop string and
// anything after it are not), stop token ids (EOS) and a max-token budget. It sees text deltas,
// not tokenization: incremental detokenization (UTF-8 boundaries) is the caller's job.
import { RequestError } from "./errors.js";

export type FinishReason = "stop" | "length";

export interface StopOptions {
  /** Generation ends after this many tokens (>= 1). */
  maxTokens: number;
  /** Strings that end generation; none is emitted. */
  stop?: readonly string[];
  /** Token ids (e.g. EOS) that end generation; their text is not emitted. */
  stopTokenIds?: readonly number[];
}

export interface StopStep {
  /** Text safe to emit now (may be empty while a possible stop string is held back). */
  text: string;
  /** Set once generation is over; no more tokens should be pushed. */
  finish: FinishReason | null;
}

export class StopChecker {
  private readonly stops: readonly string[];
  private readonly stopIds: ReadonlySet<number>;
  private readonly maxTokens: number;
  private pending = "";
  private count = 0;
  private done = false;

  constructor(opts: StopOptions) {
    if (!Number.isInteger(opts.maxTokens) || opts.maxTokens < 1) {
      throw new RequestError(
        "invalid-request",
        `maxTokens ${opts.maxTokens} is invalid: use an integer >= 1`,
      );
    }
    for (const s of opts.stop ?? []) {
      if (typeof s !== "string" || s.length === 0) {
        throw new RequestError(
          "invalid-request",
          `stop string ${JSON.stringify(s)} is invalid: use non-empty strings`,
        );
      }
    }
    this.stops = [...(opts.stop ?? [])];
    this.stopIds = new Set(opts.stopTokenIds ?? []);
    this.maxTokens = opts.maxTokens;
  }

  /** Tokens pushed so far. */
  tokens(): number {
    return this.count;
  }

  /** Feeds one generated token and the text it added. */
  push(tokenId: number, textDelta: string): StopStep {
    if (this.done)
      throw new RequestError("invalid-request", "generation already finished: push no more tokens");
    this.count++;
    if (this.stopIds.has(tokenId)) return this.finish("stop", this.pending);
    this.pending += textDelta;
    let cut = -1;
    for (const s of this.stops) {
      const i = this.pending.indexOf(s);
      if (i >= 0 && (cut < 0 || i < cut)) cut = i;
    }
    if (cut >= 0) return this.finish("stop", this.pending.slice(0, cut));
    if (this.count >= this.maxTokens) return this.finish("length", this.pending);
    const hold = this.heldBack();
    const text = this.pending.slice(0, this.pending.length - hold);
    this.pending = this.pending.slice(this.pending.length - hold);
    return { text, finish: null };
  }

  /** Ends early (cancellation, context full): returns the held-back text, which is not a stop string. */
  flush(): string {
    const text = this.pending;
    this.pending = "";
    this.done = true;
    return text;
  }

  /** Length of the longest suffix of `pending` that is a proper prefix of some stop string. */
  private heldBack(): number {
    let best = 0;
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, this.pending.length); k > best; k--) {
        if (this.pending.endsWith(s.slice(0, k))) {
          best = k;
          break;
        }
      }
    }
    return best;
  }

  private finish(reason: FinishReason, text: string): StopStep {
    this.pending = "";
    this.done = true;
    return { text, finish: reason };
  }
}
