// The CLA transformer as one object: parameters and gradients in two flat buffers laid out by
// buildLayout (names, shapes, offsets, decay), activations per (B, T) allocated once and reused,
// forward (mean loss), backward (accumulating grads), and logits for evaluation. The optimizer,
// clipping and schedule live in train/ on top of paramsFlat()/gradsFlat() and the layout ranges.
import type { Backend } from "../backend/backend.js";
import { type DeviceBuffer, type Tensor, view } from "../backend/tensor.js";
import { ConfigError, ShapeError } from "../errors.js";
import { type Activations, allocActivations, ensureGradActs } from "./activations.js";
import { modelBackward } from "./backward.js";
import type { ModelConfig } from "./config-types.js";
import { modelForward } from "./forward.js";
import { buildLayout, type ParamLayout, type ParamSpec } from "./layout.js";
import { hashString, Rng } from "./rng.js";
import { bindWeights, type ModelWeights } from "./weights.js";

export interface ModelOptions {
  /** Seed of the N(0, initStd) init; each tensor draws from its own stream keyed by its name. */
  seed?: number;
}

export interface TokenBatch {
  /** (B, T) row-major token ids in [0, V). */
  ids: Int32Array;
  /** (B, T) next-token targets; -1 rows are ignored by the loss. */
  targets?: Int32Array;
  batchSize: number; // B
  seqLen: number; // T <= maxSeqLen
}

/** How many (B, T) activation sets stay allocated (training shape + one evaluation shape). */
const MAX_ACT_SETS = 2;

export class Model {
  readonly layout: ParamLayout;
  private readonly paramBuf: DeviceBuffer;
  private readonly gradBuf: DeviceBuffer;
  private readonly w: ModelWeights;
  private readonly g: ModelWeights;
  private readonly acts = new Map<string, Activations>();
  private last: { acts: Activations; validCount: number } | null = null;

  private constructor(
    readonly backend: Backend,
    readonly config: ModelConfig,
  ) {
    this.layout = buildLayout(config);
    this.paramBuf = backend.createBuffer(this.layout.total, "f32", "params");
    this.gradBuf = backend.createBuffer(this.layout.total, "f32", "grads");
    this.w = bindWeights(this.layout, config.nLayers, this.paramBuf);
    this.g = bindWeights(this.layout, config.nLayers, this.gradBuf);
  }

  /** Allocates parameters (initialised: N(0, initStd) matrices, ones for norms) and zeroed grads. */
  static create(backend: Backend, config: ModelConfig, opts: ModelOptions = {}): Model {
    const m = new Model(backend, config);
    const seed = opts.seed ?? 0;
    backend.fill(m.paramsFlat(), 0); // alignment padding stays zero
    for (const s of m.layout.tensors) {
      const data = new Float32Array(s.numel);
      if (s.init === "ones") data.fill(1);
      else new Rng(seed, hashString(s.name)).fillNormal(data, config.initStd);
      backend.write(m.param(s.name), data);
    }
    m.zeroGrads();
    return m;
  }

  /** The parameter table (name, shape, offset, decay, init) in layout order. */
  paramTable(): readonly ParamSpec[] {
    return this.layout.tensors;
  }

  /** The whole flat parameter buffer, shape (layout.total). */
  paramsFlat(): Tensor {
    return view(this.paramBuf, [this.layout.total]);
  }

  /** The whole flat gradient buffer, same layout as paramsFlat(). */
  gradsFlat(): Tensor {
    return view(this.gradBuf, [this.layout.total]);
  }

  /** One named parameter as a view (e.g. "layers.0.wq.weight"). */
  param(name: string): Tensor {
    const s = this.layout.get(name);
    return view(this.paramBuf, s.shape, s.offset);
  }

  /** The gradient of one named parameter. */
  grad(name: string): Tensor {
    const s = this.layout.get(name);
    return view(this.gradBuf, s.shape, s.offset);
  }

  /** Replaces every parameter from a flat array in this layout (length layout.total). */
  loadParams(data: Float32Array | Float64Array): void {
    if (data.length !== this.layout.total) {
      throw new ShapeError(
        `loadParams needs ${this.layout.total} values (the layout of "${this.config.name}"), got ${data.length}`,
      );
    }
    this.backend.write(this.paramsFlat(), data);
  }

  /** Replaces one named parameter (checkpoint loading, tests). */
  writeParam(name: string, data: Float32Array | Float64Array): void {
    const t = this.param(name);
    if (data.length !== t.shape.reduce((a, b) => a * b, 1)) {
      throw new ShapeError(`parameter "${name}" has shape [${t.shape}], got ${data.length} values`);
    }
    this.backend.write(t, data);
  }

  readParams(): Promise<Float32Array | Float64Array> {
    return this.backend.read(this.paramsFlat()) as Promise<Float32Array | Float64Array>;
  }

  readGrads(): Promise<Float32Array | Float64Array> {
    return this.backend.read(this.gradsFlat()) as Promise<Float32Array | Float64Array>;
  }

  zeroGrads(): void {
    this.backend.fill(this.gradsFlat(), 0);
  }

  /** Forward with loss: returns the mean cross-entropy over rows whose target is not -1. */
  async forward(batch: TokenBatch): Promise<number> {
    if (!batch.targets) throw new ShapeError("forward needs targets; use forwardLogits for logits only");
    const acts = this.prepare(batch);
    const targets = batch.targets;
    let validCount = 0;
    for (const t of targets) {
      if (t === -1) continue;
      if (!Number.isInteger(t) || t < 0 || t >= this.config.vocabSize) {
        throw new ConfigError(
          `target ${t} is outside the vocabulary [0, ${this.config.vocabSize}) (or -1 to ignore)`,
        );
      }
      validCount++;
    }
    this.backend.write(acts.targets, targets);
    modelForward(this.ctx(), acts, true);
    this.last = { acts, validCount };
    const losses = await this.backend.read(acts.losses);
    let sum = 0;
    for (let i = 0; i < losses.length; i++) if (targets[i] !== -1) sum += losses[i]!;
    return validCount > 0 ? sum / validCount : 0;
  }

  /** Adds dLoss/dparams of the last forward (mean loss) into the gradients. */
  backward(): void {
    const last = this.last;
    if (!last) throw new ShapeError("backward needs a forward with targets first");
    const gr = ensureGradActs(this.config, last.acts);
    modelBackward({ ...this.ctx(), g: this.g }, last.acts, gr, last.validCount);
  }

  /** Logits (B, T, V) of `batch.ids` (targets ignored), read back to the host. */
  async forwardLogits(batch: TokenBatch): Promise<Float32Array | Float64Array> {
    const acts = this.prepare(batch);
    modelForward(this.ctx(), acts, false);
    this.last = null;
    return (await this.backend.read(acts.logits)) as Float32Array | Float64Array;
  }

  /** The (N, V) logits tensor left by the last forward at (B, T) (valid until the next call). */
  logitsTensor(batchSize: number, seqLen: number): Tensor {
    const acts = this.acts.get(`${batchSize}x${seqLen}`);
    if (!acts) throw new ShapeError(`no forward has run at batch ${batchSize} x ${seqLen}`);
    return acts.logits;
  }

  /** Frees parameters, gradients and activations. */
  dispose(): void {
    for (const a of this.acts.values()) a.free();
    this.acts.clear();
    this.backend.destroyBuffer(this.paramBuf);
    this.backend.destroyBuffer(this.gradBuf);
  }

  private ctx() {
    return { backend: this.backend, cfg: this.config, producers: this.layout.producers, w: this.w };
  }

  /** Validates ids, returns the activation set for (B, T) with ids written. */
  private prepare(batch: TokenBatch): Activations {
    const { batchSize: B, seqLen: T, ids } = batch;
    if (!Number.isInteger(B) || B < 1 || !Number.isInteger(T) || T < 1) {
      throw new ShapeError(`batch ${B} x ${T} must be positive integers`);
    }
    if (T > this.config.maxSeqLen) {
      throw new ConfigError(
        `sequence length ${T} exceeds maxSeqLen ${this.config.maxSeqLen}: shorten the input`,
      );
    }
    if (ids.length !== B * T || (batch.targets && batch.targets.length !== B * T)) {
      throw new ShapeError(`ids and targets must hold B*T = ${B * T} values, got ${ids.length}`);
    }
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.config.vocabSize) {
        throw new ConfigError(`token id ${id} is outside the vocabulary [0, ${this.config.vocabSize})`);
      }
    }
    const key = `${B}x${T}`;
    let acts = this.acts.get(key);
    if (acts) {
      this.acts.delete(key); // re-insert as most recent
    } else {
      if (this.acts.size >= MAX_ACT_SETS) {
        const [oldKey, old] = this.acts.entries().next().value as [string, Activations];
        old.free();
        this.acts.delete(oldKey);
        if (this.last?.acts === old) this.last = null;
      }
      acts = allocActivations(this.backend, this.config, this.layout.producers, { B, T });
    }
    this.acts.set(key, acts);
    this.backend.write(acts.ids, ids);
    return acts;
  }
}
