// Continuous batching (vLLM v1 style), pure host logic: a FIFO queue of requests, admission by free
// KV blocks, each step a batch of prefill chunks and decode tokens under a token budget, requests
// joining and leaving between steps, preemption by recompute when blocks run out, cancellation
// freeing blocks at once. It plans steps and reserves cache slots; it never runs the model.
import type { BlockTables } from "./block-tables.js";
import { RequestError } from "./errors.js";

export interface SchedulerOptions {
  /** Block accounting: the KvCache's tables (or a host-only BlockTables in tests). */
  tables: BlockTables;
  /** Longest sequence (prompt + generated tokens) the model serves. */
  maxContext: number;
  /** Tokens per step across all sequences (prefill chunks + one per decoding sequence). */
  maxBatchTokens: number;
  /** Sequences per step. */
  maxRunning: number;
}

export interface ScheduledRequest {
  id: string;
  promptTokens: readonly number[];
  maxTokens: number;
}

/** One sequence's share of a step. */
export interface StepItem {
  id: string;
  /** Input tokens at positions [start, start + tokens.length) of the sequence. */
  tokens: number[];
  start: number;
  /** Cache slots (block * blockSize + offset) for these tokens' K/V. */
  slots: Int32Array;
  /** The chunk reaches the end of the known tokens: sample from its last row's logits. */
  sample: boolean;
}

export interface StepPlan {
  items: StepItem[];
  /** Requests whose blocks were taken back this step; they wait and recompute their tokens later. */
  preempted: string[];
  /** Sum of the items' token counts (<= maxBatchTokens). */
  nTokens: number;
}

interface Req {
  id: string;
  tokens: number[];
  promptLen: number;
  maxTokens: number;
  /** Run-ahead steps (scheduleAhead) in flight: each holds a slot for a token not yet committed. */
  ahead: number;
}

export class Scheduler {
  private readonly opts: SchedulerOptions;
  private readonly waiting: Req[] = [];
  /** In admission order: the last one is preempted first. */
  private readonly running: Req[] = [];
  /** The running requests by id (commit and scheduleAhead look them up every decode step). */
  private readonly byId = new Map<string, Req>();

  constructor(opts: SchedulerOptions) {
    for (const k of ["maxContext", "maxBatchTokens", "maxRunning"] as const) {
      if (!Number.isInteger(opts[k]) || opts[k] < 1) {
        throw new RequestError(
          "invalid-request",
          `scheduler ${k} ${opts[k]} is invalid: use an integer >= 1`,
        );
      }
    }
    this.opts = opts;
  }

  /** Queues a request, or refuses at once (RequestError) one that could never be served. */
  add(req: ScheduledRequest): void {
    const { maxContext, tables } = this.opts;
    const n = req.promptTokens.length;
    if (this.state(req.id) !== undefined) {
      throw new RequestError(
        "duplicate-id",
        `request id "${req.id}" is already queued or running: use a fresh id`,
      );
    }
    if (n === 0) throw new RequestError("empty-prompt", "the prompt is empty: give at least one token");
    if (!Number.isInteger(req.maxTokens) || req.maxTokens < 1) {
      throw new RequestError("invalid-request", `maxTokens ${req.maxTokens} is invalid: use an integer >= 1`);
    }
    if (n >= maxContext) {
      throw new RequestError(
        "prompt-too-long",
        `the prompt has ${n} tokens but the context is ${maxContext}: shorten it to at most ${maxContext - 1} tokens`,
      );
    }
    if (n + req.maxTokens > maxContext) {
      throw new RequestError(
        "prompt-too-long",
        `prompt (${n}) + maxTokens (${req.maxTokens}) exceeds the context of ${maxContext}: ` +
          `lower maxTokens to at most ${maxContext - n}`,
      );
    }
    // The last generated token is never fed back, so its K/V need no slot.
    const blocks = tables.blocksFor(n + req.maxTokens - 1);
    if (blocks > tables.pool.numBlocks) {
      const most = tables.pool.numBlocks * tables.blockSize - n + 1;
      throw new RequestError(
        "cannot-fit",
        `prompt (${n}) + maxTokens (${req.maxTokens}) needs ${blocks} KV blocks but the cache has ` +
          `${tables.pool.numBlocks}: lower maxTokens to at most ${Math.max(0, most)} or give the cache more memory`,
      );
    }
    this.waiting.push({
      id: req.id,
      tokens: [...req.promptTokens],
      promptLen: n,
      maxTokens: req.maxTokens,
      ahead: 0,
    });
  }

  /** Removes a request wherever it is and frees its blocks at once. False if unknown. */
  cancel(id: string): boolean {
    for (const list of [this.waiting, this.running]) {
      const i = list.findIndex((r) => r.id === id);
      if (i >= 0) {
        list.splice(i, 1);
        this.byId.delete(id);
        this.opts.tables.free(id);
        return true;
      }
    }
    return false;
  }

  state(id: string): "waiting" | "running" | undefined {
    if (this.byId.has(id)) return "running";
    if (this.waiting.some((r) => r.id === id)) return "waiting";
    return undefined;
  }

  hasWork(): boolean {
    return this.waiting.length + this.running.length > 0;
  }

  counts(): { waiting: number; running: number; freeBlocks: number } {
    return {
      waiting: this.waiting.length,
      running: this.running.length,
      freeBlocks: this.opts.tables.pool.numFree(),
    };
  }

  /** Plans the next step: running sequences first (oldest first), then waiting ones FIFO. */
  schedule(): StepPlan {
    const { tables, maxBatchTokens, maxRunning } = this.opts;
    let budget = maxBatchTokens;
    const items: StepItem[] = [];
    const preempted: string[] = [];
    for (let i = 0; i < this.running.length && budget > 0; i++) {
      const r = this.running[i]!;
      const chunk = Math.min(r.tokens.length - tables.length(r.id), budget);
      if (chunk === 0) continue; // awaiting its commit
      let ok = tables.allocateFor(r.id, chunk).kind === "ok";
      while (!ok) {
        const victim = this.running.pop()!;
        this.byId.delete(victim.id);
        victim.ahead = 0;
        tables.free(victim.id);
        this.waiting.unshift(victim);
        preempted.push(victim.id);
        if (victim === r) break;
        ok = tables.allocateFor(r.id, chunk).kind === "ok";
      }
      if (!ok) break;
      items.push(this.item(r, chunk));
      budget -= chunk;
    }
    // Admission: strictly FIFO (no overtaking), and none in a step that had to preempt.
    while (
      preempted.length === 0 &&
      budget > 0 &&
      this.waiting.length > 0 &&
      this.running.length < maxRunning
    ) {
      const r = this.waiting[0]!;
      const chunk = Math.min(r.tokens.length, budget);
      if (tables.allocateFor(r.id, chunk).kind !== "ok") break;
      this.waiting.shift();
      this.running.push(r);
      this.byId.set(r.id, r);
      items.push(this.item(r, chunk));
      budget -= chunk;
    }
    return { items, preempted, nTokens: maxBatchTokens - budget };
  }

  /**
   * A run-ahead decode step for exactly the running sequences `ids` (in that order), each awaiting
   * the commit of the tokens its steps in flight are sampling: one slot each for the newest pending
   * token, so a step can be submitted before that token is known (its input is taken on the
   * device). Several may be in flight (`ahead` per request). Null, changing nothing, unless every
   * running sequence is in `ids` with all its other tokens written, no waiting request could be
   * admitted, no pending token can end a sequence by length, and a block is free where needed.
   * The items' `tokens` hold a placeholder 0 (the real ids come from the device).
   */
  scheduleAhead(ids: readonly string[]): StepItem[] | null {
    const { tables, maxRunning } = this.opts;
    if (this.waiting.length > 0 && this.running.length < maxRunning) return null;
    if (ids.length !== this.running.length) return null;
    const reqs: Req[] = [];
    for (const id of ids) {
      const r = this.byId.get(id);
      if (r === undefined || tables.length(id) !== r.tokens.length + r.ahead) return null;
      // the newest pending token is generated token number (generated + ahead + 1): if that is
      // the last one allowed, nothing is fed after it
      if (r.tokens.length + r.ahead + 1 - r.promptLen >= r.maxTokens) return null;
      reqs.push(r);
    }
    for (const r of reqs) if (tables.allocateFor(r.id, 1).kind !== "ok") return null;
    const items: StepItem[] = new Array(reqs.length);
    for (let i = 0; i < reqs.length; i++) {
      const r = reqs[i]!;
      const start = tables.length(r.id);
      r.ahead++;
      items[i] = { id: r.id, tokens: [0], start, slots: tables.append(r.id, 1), sample: true };
    }
    return items;
  }

  /**
   * Records the token sampled for a `sample` item (steps in flight commit in order). Returns
   * "length" when the request is done (maxTokens reached) and already removed, else null. Unknown
   * (cancelled) ids return "cancelled".
   */
  commit(id: string, token: number): "length" | "cancelled" | null {
    const r = this.byId.get(id);
    if (r === undefined) return "cancelled";
    if (this.opts.tables.length(id) !== r.tokens.length + r.ahead) {
      throw new RequestError(
        "invalid-request",
        `request "${id}" was not at a sampling point: commit only sample items`,
      );
    }
    r.tokens.push(token);
    // the committed token is the input of the oldest run-ahead step in flight, if any
    if (r.ahead > 0) r.ahead--;
    if (r.tokens.length - r.promptLen >= r.maxTokens) {
      this.cancel(id);
      return "length";
    }
    return null;
  }

  /** Ends a request for a reason found outside (stop string, EOS): frees its blocks. */
  finish(id: string): void {
    this.cancel(id);
  }

  /** Tokens generated so far for a queued or running request. */
  generated(id: string): number[] {
    const r = this.byId.get(id) ?? this.waiting.find((x) => x.id === id);
    return r === undefined ? [] : r.tokens.slice(r.promptLen);
  }

  private item(r: Req, chunk: number): StepItem {
    const start = this.opts.tables.length(r.id);
    const slots = this.opts.tables.append(r.id, chunk);
    return {
      id: r.id,
      tokens: r.tokens.slice(start, start + chunk),
      start,
      slots,
      sample: start + chunk === r.tokens.length,
    };
  }
}
