// The local inference engine: glues a Model (weights on a backend), the paged KvCache, the
// continuous-batching Scheduler, per-request Samplers and StopCheckers into the Engine interface.
// One driving loop runs steps while there is work; requests join and leave between steps.
// It owns the cache and its scratch, not the model. Text needs a TextCodec; ids work without.
import type { Model } from "../model/model.js";
import { producerMap } from "../model/sharing.js";
import { CachedForward, type ForwardItem, type StepOutput } from "./cached-forward.js";
import { Detokenizer } from "./detokenize.js";
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
  /**
   * Greedy decode steps submitted beyond the one being read (default 2; 0: none). Deeper run-ahead
   * hides the host's per-step work and the readback's latency behind the GPU; a request that stops
   * wastes up to this many steps of GPU work (their tokens are dropped, never emitted).
   */
  runAhead?: number;
}

interface Live {
  req: NormalizedRequest;
  sampler: Sampler;
  stop: StopChecker;
  generated: number[];
  /** Streams the generated text (null without a TextCodec). */
  detok: Detokenizer | null;
  chunks: GenerationChunk[];
  error: unknown;
  done: boolean;
  wake: (() => void) | null;
}

/** A greedy step submitted and not yet read: its rows and the requests of its sampled rows. */
interface InFlight {
  rows: readonly ForwardItem[];
  /** Per sampled row, in order: the request it samples for (undefined: already ended). */
  lives: readonly (Live | undefined)[];
  out: Promise<StepOutput>;
}

export class LocalEngine implements Engine {
  readonly cache: KvCache;
  private readonly model: Model;
  private readonly codec: TextCodec | undefined;
  private readonly fwd: CachedForward;
  private readonly sched: Scheduler;
  private readonly maxContext: number;
  private readonly eos: number | undefined;
  private readonly runAhead: number;
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
    this.runAhead = opts.runAhead ?? 2;
    if (!Number.isInteger(this.runAhead) || this.runAhead < 0) {
      throw new RequestError("invalid-request", `runAhead ${opts.runAhead} is invalid: use an integer >= 0`);
    }
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
      detok: this.codec ? new Detokenizer(this.codec) : null,
      chunks: [],
      error: null,
      done: false,
      wake: null,
    };
    this.sched.add({ id: req.id, promptTokens: req.promptTokens, maxTokens: req.maxTokens });
    this.live.set(req.id, live);
    const signal = request.signal;
    // by object, not id: the id may be reused by a later request once this one ended
    if (signal?.aborted) this.cancelLive(live);
    else signal?.addEventListener("abort", () => this.cancelLive(live), { once: true });
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
    if (live !== undefined) this.cancelLive(live);
  }

  private cancelLive(live: Live): void {
    if (live.done) return; // a live request not done is the one under its id
    this.sched.cancel(live.req.id);
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
      this.cancelLive(live); // a consumer that stops reading frees its blocks
    }
  }

  private push(live: Live, chunk: GenerationChunk): void {
    live.chunks.push(chunk);
    const wake = live.wake;
    if (wake !== null) {
      live.wake = null;
      wake();
    }
  }

  private end(
    live: Live,
    chunk: { text: string; tokens: number[]; finishReason: GenerationFinishReason },
  ): void {
    live.done = true;
    this.live.delete(live.req.id);
    const usage = { promptTokens: live.req.promptTokens.length, completionTokens: live.generated.length };
    this.push(live, { id: live.req.id, ...chunk, usage });
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
   * Greedy decode steps run ahead: while a step's tokens are read back, up to `runAhead` later
   * steps (the same sequences, their input tokens taken from the device argmax) are already
   * recorded and submitted, so the GPU does not wait for the host between steps (see chainable).
   * Each step's rows keep the request objects they sample for: a request that ended (and maybe
   * came back under the same id) never gets a token of a step that was in flight for it.
   */
  private async step(items: readonly ForwardItem[]): Promise<void> {
    const lives: (Live | undefined)[] = [];
    for (const it of items) if (it.sample) lives.push(this.live.get(it.id));
    const greedy =
      this.fwd.deviceArgmax && lives.length > 0 && lives.every((l) => l?.sampler.isPlainGreedy() ?? true);
    const V = this.model.config.vocabSize;
    if (!greedy) {
      const logits = await this.fwd.run(items);
      for (let m = 0; m < lives.length; m++) this.onLogits(lives[m], logits.subarray(m * V, (m + 1) * V));
      return;
    }
    const queue: InFlight[] = [{ rows: items, lives, out: this.fwd.runGreedy(items) }];
    for (;;) {
      while (queue.length <= this.runAhead) {
        const last = queue[queue.length - 1]!;
        const ahead = this.chainable(last) ? this.sched.scheduleAhead(last.rows.map((it) => it.id)) : null;
        if (ahead === null) break;
        const out = this.fwd.runGreedy(ahead, { chained: true });
        out.catch(() => {}); // awaited below; an earlier failure must not leave it unhandled
        queue.push({ rows: ahead, lives: last.lives, out });
        this.chainedSteps++;
      }
      // with steps queued on the GPU: let consumers read the last tokens (and cancel) and new
      // requests arrive before the next step's tokens are handed out (a lone step: loop() yields)
      if (queue.length > 1) await new Promise((res) => setImmediate(res));
      const head = queue.shift()!;
      const out = await head.out;
      const picked = head.lives;
      if (out.kind === "tokens" && !out.tokens.includes(-1)) {
        for (let m = 0; m < picked.length; m++) this.onToken(picked[m], out.tokens[m]!);
      } else if (queue.length === 0) {
        // a NaN/+Inf row (or no device argmax): the host sampler reads the logits and reports it
        const logits = out.kind === "logits" ? out.logits : await this.fwd.lastLogitRows();
        for (let m = 0; m < picked.length; m++) this.onLogits(picked[m], logits.subarray(m * V, (m + 1) * V));
      } else {
        const m = out.kind === "tokens" ? out.tokens.indexOf(-1) : 0;
        const id = head.rows.filter((it) => it.sample)[m]?.id;
        throw new SamplingError(
          `the logits of request "${id}" hold NaN or +Infinity: nothing can be sampled`,
        );
      }
      if (queue.length === 0) return;
    }
  }

  /**
   * Whether a run-ahead step may follow `step`: a pure decode step (one sampled token per row) of
   * live, plain-greedy requests. The scheduler adds its own conditions (scheduleAhead).
   */
  private chainable(step: InFlight): boolean {
    if (this.disposed) return false; // step() only chains where the device picks the tokens
    const { rows, lives } = step;
    if (lives.length !== rows.length) return false; // some row is a prefill chunk that samples nothing
    for (let i = 0; i < rows.length; i++) {
      const live = lives[i];
      if (rows[i]!.tokens.length !== 1 || live === undefined || live.done) return false;
      if (!live.sampler.isPlainGreedy()) return false;
    }
    return true;
  }

  private onLogits(live: Live | undefined, row: Float32Array | Float64Array): void {
    if (live === undefined || live.done) return; // ended (cancelled, stopped) during the step
    const history = live.sampler.usesHistory() ? [...live.req.promptTokens, ...live.generated] : [];
    this.onToken(live, live.sampler.sample(row, history));
  }

  private onToken(live: Live | undefined, token: number): void {
    if (live === undefined || live.done) return; // ended (cancelled, stopped) during the step
    const id = live.req.id;
    const byLength = this.sched.commit(id, token);
    live.generated.push(token);
    const step = live.stop.push(token, this.textDelta(live));
    if (step.finish !== null) {
      if (byLength === null) this.sched.finish(id);
      this.end(live, { text: step.text, tokens: [token], finishReason: step.finish });
    } else {
      this.push(live, { id, text: step.text, tokens: [token], finishReason: null });
    }
  }

  /** New text since the last token; waits while the tail is an incomplete UTF-8 sequence. */
  private textDelta(live: Live): string {
    return live.detok?.next(live.generated) ?? "";
  }
}
