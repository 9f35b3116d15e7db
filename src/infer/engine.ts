// The local inference engine: glues a Model (weights on a backend), the paged KvCache, the
// continuous-batching Scheduler, per-request Samplers and StopCheckers into the Engine interface.
// One driving loop runs steps while there is work; requests join and leave between steps.
// It owns the cache and its scratch, not the model. Text needs a TextCodec; ids work without.
import type { Model } from "../model/model.js";
import { producerMap } from "../model/sharing.js";
import { CachedForward, type ForwardItem } from "./cached-forward.js";
import { RequestError, SamplingError } from "./errors.js";
import { blocksForBudget, KvCache } from "./kv-cache.js";
import type { KvDType, KvLayout } from "./kv-layout.js";
import { Sampler } from "./sampler.js";
import { Scheduler } from "./scheduler.js";
import { StopChecker } from "./stop.js";
import type {
  Engine,
  EngineStats,
  GenerationChunk,
  GenerationFinishReason,
  GenerationRequest,
  NormalizedRequest,
  TextCodec,
} from "./types.js";
import { normalizeRequest } from "./types.js";

export interface LocalEngineOptions {
  model: Model;
  codec?: TextCodec;
  /** KV blocks per pool; or give kvBytes. Default: room for maxRunning full contexts. */
  kvBlocks?: number;
  /** KV memory budget in bytes (all producers' K and V pools), used when kvBlocks is absent. */
  kvBytes?: number;
  /** Tokens per KV block (default 16). */
  blockSize?: number;
  /** KV storage dtype (default: the model config's kvDtype). */
  kvDtype?: KvDType;
  /** Longest prompt + generation (default: the model's maxSeqLen). */
  maxContext?: number;
  /** Tokens per step (default 256). */
  maxBatchTokens?: number;
  /** Sequences per step (default 8). */
  maxRunning?: number;
  /** Ends every generation (added to each request's stopTokenIds). */
  eosTokenId?: number;
}

interface Live {
  req: NormalizedRequest;
  sampler: Sampler;
  stop: StopChecker;
  generated: number[];
  text: string;
  chunks: GenerationChunk[];
  error: unknown;
  done: boolean;
  wake: (() => void) | null;
}

export class LocalEngine implements Engine {
  readonly cache: KvCache;
  private readonly model: Model;
  private readonly codec: TextCodec | undefined;
  private readonly fwd: CachedForward;
  private readonly sched: Scheduler;
  private readonly maxContext: number;
  private readonly eos: number | undefined;
  private readonly live = new Map<string, Live>();
  private looping = false;
  private preemptions = 0;
  private chainedSteps = 0;
  private disposed = false;

  constructor(opts: LocalEngineOptions) {
    const cfg = opts.model.config;
    this.model = opts.model;
    this.codec = opts.codec;
    this.eos = opts.eosTokenId;
    this.maxContext = opts.maxContext ?? cfg.maxSeqLen;
    if (this.maxContext > cfg.maxSeqLen) {
      throw new RequestError(
        "invalid-request",
        `maxContext ${this.maxContext} exceeds the model's maxSeqLen ${cfg.maxSeqLen}: use at most ${cfg.maxSeqLen}`,
      );
    }
    const maxRunning = opts.maxRunning ?? 8;
    const layout: KvLayout = {
      nLayers: cfg.nLayers,
      producers: producerMap(cfg),
      nKvHeads: cfg.nKvHeads,
      headDim: cfg.headDim,
      dtype: opts.kvDtype ?? cfg.kvDtype,
      blockSize: opts.blockSize ?? 16,
    };
    const numBlocks =
      opts.kvBlocks ??
      (opts.kvBytes !== undefined
        ? blocksForBudget(layout, opts.kvBytes)
        : maxRunning * Math.ceil(this.maxContext / layout.blockSize));
    this.cache = new KvCache({ backend: this.model.backend, layout, numBlocks });
    this.fwd = new CachedForward(this.model, this.cache);
    this.sched = new Scheduler({
      tables: this.cache.tables,
      maxContext: this.maxContext,
      maxBatchTokens: opts.maxBatchTokens ?? 256,
      maxRunning,
    });
  }

  /** Validates and queues at once (invalid or never-fitting requests throw RequestError here). */
  generate(request: GenerationRequest): AsyncIterable<GenerationChunk> {
    if (this.disposed) throw new RequestError("invalid-request", "the engine was disposed");
    const req = normalizeRequest(request, {
      vocabSize: this.model.config.vocabSize,
      maxContext: this.maxContext,
      codec: this.codec,
    });
    if (this.live.has(req.id)) {
      throw new RequestError("duplicate-id", `request id "${req.id}" is in flight: use a fresh id`);
    }
    const stopTokenIds = this.eos === undefined ? req.stopTokenIds : [...req.stopTokenIds, this.eos];
    const live: Live = {
      req,
      sampler: new Sampler(req.sampling, req.seed),
      stop: new StopChecker({ maxTokens: req.maxTokens, stop: req.stop, stopTokenIds }),
      generated: [],
      text: "",
      chunks: [],
      error: null,
      done: false,
      wake: null,
    };
    this.sched.add({ id: req.id, promptTokens: req.promptTokens, maxTokens: req.maxTokens });
    this.live.set(req.id, live);
    const signal = request.signal;
    if (signal?.aborted) this.cancel(req.id);
    else signal?.addEventListener("abort", () => this.cancel(req.id), { once: true });
    void this.loop();
    return this.stream(live);
  }

  stats(): EngineStats {
    const c = this.sched.counts();
    return {
      waiting: c.waiting,
      running: c.running,
      freeBlocks: c.freeBlocks,
      totalBlocks: this.cache.numBlocks,
      kvBytes: this.cache.bytesAllocated(),
      kvBytesPerToken: this.cache.layout.bytesPerToken(),
      preemptions: this.preemptions,
      chainedSteps: this.chainedSteps,
    };
  }

  /** Ends a request now: its blocks return to the pool at once; its stream ends with "cancelled". */
  cancel(id: string): void {
    const live = this.live.get(id);
    if (live === undefined || live.done) return;
    this.sched.cancel(id);
    this.end(live, { text: live.stop.flush(), tokens: [], finishReason: "cancelled" });
  }

  dispose(): void {
    if (this.disposed) return;
    for (const id of [...this.live.keys()]) this.cancel(id);
    this.disposed = true;
    this.fwd.dispose();
    this.cache.dispose();
  }

  private async *stream(live: Live): AsyncGenerator<GenerationChunk> {
    try {
      for (;;) {
        while (live.chunks.length > 0) yield live.chunks.shift()!;
        if (live.error !== null) throw live.error;
        if (live.done) return;
        await new Promise<void>((res) => {
          live.wake = res;
        });
      }
    } finally {
      this.cancel(live.req.id); // a consumer that stops reading frees its blocks
    }
  }

  private push(live: Live, chunk: Omit<GenerationChunk, "id">): void {
    live.chunks.push({ id: live.req.id, ...chunk });
    live.wake?.();
    live.wake = null;
  }

  private end(
    live: Live,
    chunk: { text: string; tokens: number[]; finishReason: GenerationFinishReason },
  ): void {
    live.done = true;
    this.live.delete(live.req.id);
    const usage = { promptTokens: live.req.promptTokens.length, completionTokens: live.generated.length };
    this.push(live, { ...chunk, usage });
  }

  private async loop(): Promise<void> {
    if (this.looping) return;
    this.looping = true;
    try {
      while (!this.disposed && this.sched.hasWork()) {
        const plan = this.sched.schedule();
        this.preemptions += plan.preempted.length;
        if (plan.items.length > 0) await this.step(plan.items);
        await new Promise((res) => setImmediate(res)); // let requests join, leave, read
      }
    } catch (e) {
      for (const live of this.live.values()) {
        live.error = e;
        live.done = true;
        this.sched.cancel(live.req.id);
        live.wake?.();
      }
      this.live.clear();
    } finally {
      this.looping = false;
    }
  }

  /**
   * Runs one step and samples. When every sampling row is plain greedy the device picks the
   * tokens (4 bytes read per row); otherwise the logits rows are read once and sampled here.
   * Greedy decode steps run ahead: while a step's tokens are read back, the next step (the same
   * sequences, their input tokens taken from the device argmax) is already recorded and
   * submitted, so the GPU does not wait for the host between steps (see chainable).
   */
  private async step(items: readonly ForwardItem[]): Promise<void> {
    const sampling = items.filter((it) => it.sample);
    const greedy =
      this.fwd.deviceArgmax &&
      sampling.length > 0 &&
      sampling.every((it) => this.live.get(it.id)?.sampler.isPlainGreedy() ?? true);
    const V = this.model.config.vocabSize;
    if (!greedy) {
      const logits = await this.fwd.run(items);
      for (const [m, it] of sampling.entries()) this.onLogits(it.id, logits.subarray(m * V, (m + 1) * V));
      return;
    }
    let rows = items;
    let pending = this.fwd.runGreedy(items);
    for (;;) {
      const ahead = this.chainable(rows) ? this.sched.scheduleAhead(rows.map((it) => it.id)) : null;
      const next = ahead ? this.fwd.runGreedy(ahead, { chained: true }) : null;
      next?.catch(() => {}); // awaited below; a failure of `pending` must not leave it unhandled
      // with two steps queued on the GPU: let consumers read (and cancel) and new requests arrive
      if (next) await new Promise((res) => setImmediate(res));
      const out = await pending;
      const picked = rows.filter((it) => it.sample);
      if (out.kind === "tokens" && !out.tokens.includes(-1)) {
        for (const [m, it] of picked.entries()) this.onToken(it.id, out.tokens[m]!);
      } else if (next === null) {
        // a NaN/+Inf row (or no device argmax): the host sampler reads the logits and reports it
        const logits = out.kind === "logits" ? out.logits : await this.fwd.lastLogitRows();
        for (const [m, it] of picked.entries()) this.onLogits(it.id, logits.subarray(m * V, (m + 1) * V));
      } else {
        const m = out.kind === "tokens" ? out.tokens.indexOf(-1) : 0;
        throw new SamplingError(
          `the logits of request "${picked[m]?.id}" hold NaN or +Infinity: nothing can be sampled`,
        );
      }
      if (next === null || ahead === null) return;
      this.chainedSteps++;
      rows = ahead;
      pending = next;
    }
  }

  /**
   * Whether a run-ahead step may follow `rows`: a pure decode step (one sampled token per row) of
   * live, plain-greedy requests. The scheduler adds its own conditions (scheduleAhead).
   */
  private chainable(rows: readonly ForwardItem[]): boolean {
    if (this.disposed) return false; // step() only chains where the device picks the tokens
    return rows.every((it) => {
      const live = this.live.get(it.id);
      return (
        it.tokens.length === 1 &&
        it.sample &&
        live !== undefined && // an ended request has left `live`
        live.sampler.isPlainGreedy()
      );
    });
  }

  private onLogits(id: string, row: Float32Array | Float64Array): void {
    const live = this.live.get(id);
    if (live === undefined) return; // cancelled during the step
    const history = live.sampler.usesHistory() ? [...live.req.promptTokens, ...live.generated] : [];
    this.onToken(id, live.sampler.sample(row, history));
  }

  private onToken(id: string, token: number): void {
    const live = this.live.get(id);
    if (live === undefined) return; // cancelled during the step
    const byLength = this.sched.commit(id, token);
    live.generated.push(token);
    const step = live.stop.push(token, this.textDelta(live));
    if (step.finish !== null) {
      if (byLength === null) this.sched.finish(id);
      this.end(live, { text: step.text, tokens: [token], finishReason: step.finish });
    } else {
      this.push(live, { text: step.text, tokens: [token], finishReason: null });
    }
  }

  /** New text since the last token; waits while the tail is an incomplete UTF-8 sequence. */
  private textDelta(live: Live): string {
    if (this.codec === undefined) return "";
    const full = this.codec.decode(live.generated);
    if (full.endsWith("\uFFFD")) return "";
    // Decoding is normally prefix-stable; if an earlier piece changed, emit only what follows the
    // common prefix (text already streamed cannot be taken back).
    let k = 0;
    while (k < live.text.length && k < full.length && live.text[k] === full[k]) k++;
    const delta = full.slice(Math.max(k, live.text.length));
    live.text = full;
    return delta;
  }
}
