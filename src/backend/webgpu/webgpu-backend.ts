// The WebGPU Backend: validates arguments, marks op boundaries on the runtime and hands each op to
// its encoder in ops/*.ts (matmul.ts and attention.ts belong to the webgpu-kernels engineer).
// Ops only record dispatches; read()/sync() submit and wait. It holds no model knowledge.
import type { AdamWOptions, AttentionOptions, Backend, BackendInfo, MatmulOptions } from "../backend.js";
import { BackendError } from "../../errors.js";
import type { DeviceBuffer, DType, Tensor } from "../tensor.js";
import type { GpuContext } from "./device.js";
import { encodeAttention, encodeAttentionBackward } from "./ops/attention.js";
import { encodeAdd, encodeCast, encodeFill, encodeScale } from "./ops/elementwise.js";
import { planMatmul } from "./ops/matmul.js";
import { Runtime } from "./runtime.js";
import { readTensor, writeTensor } from "./transfer.js";

function notYet(op: string): never {
  throw new BackendError(`webgpu ${op} is being written: use the cpu backend for now`);
}

export class WebGpuBackend implements Backend {
  readonly name = "webgpu" as const;
  readonly rt: Runtime;

  constructor(private readonly ctx: GpuContext) {
    this.rt = new Runtime(ctx);
  }

  info(): BackendInfo {
    return {
      name: "webgpu",
      device: this.ctx.deviceName,
      detail: this.ctx.detail,
      features: [...this.ctx.features],
      limits: { ...this.ctx.limits },
    };
  }

  createBuffer(size: number, dtype: DType, label?: string): DeviceBuffer {
    return this.rt.createBuffer(size, dtype, label);
  }
  destroyBuffer(buffer: DeviceBuffer): void {
    this.rt.destroyBuffer(buffer);
  }
  write(t: Tensor, data: Float32Array | Float64Array | Int32Array): void {
    writeTensor(this.rt, t, data);
  }
  read(t: Tensor): Promise<Float32Array | Int32Array> {
    return readTensor(this.rt, t);
  }
  sync(): Promise<void> {
    return this.rt.sync();
  }
  dispose(): void {
    this.rt.dispose();
  }

  fill(t: Tensor, value: number): void {
    this.rt.beginOp();
    encodeFill(this.rt, t, value);
  }
  cast(out: Tensor, src: Tensor): void {
    this.rt.beginOp();
    encodeCast(this.rt, out, src);
  }
  add(out: Tensor, a: Tensor, b: Tensor, alpha = 1, beta = 1): void {
    this.rt.beginOp();
    encodeAdd(this.rt, out, a, b, alpha, beta);
  }
  scale(out: Tensor, x: Tensor, alpha: number): void {
    this.rt.beginOp();
    encodeScale(this.rt, out, x, alpha);
  }

  matmul(out: Tensor, a: Tensor, b: Tensor, opts: MatmulOptions = {}): void {
    this.rt.beginOp();
    const limits = this.rt.limits as unknown as Parameters<typeof planMatmul>[4];
    const plan = planMatmul(out, a, b, opts, limits);
    this.rt.dispatch({
      key: plan.key,
      source: plan.source,
      bindings: [a, b, out],
      params: plan.params,
      offsetWords: [3, 4, 5],
      workgroups: plan.workgroups,
    });
  }

  embedding(_out: Tensor, _table: Tensor, _ids: Tensor): void {
    notYet("embedding");
  }
  embeddingBackward(_dTable: Tensor, _dOut: Tensor, _ids: Tensor): void {
    notYet("embeddingBackward");
  }
  rmsnorm(_out: Tensor, _rstd: Tensor, _x: Tensor, _weight: Tensor, _eps: number): void {
    notYet("rmsnorm");
  }
  rmsnormBackward(
    _dx: Tensor,
    _dWeight: Tensor,
    _dOut: Tensor,
    _x: Tensor,
    _weight: Tensor,
    _rstd: Tensor,
    _accumulate?: boolean,
  ): void {
    notYet("rmsnormBackward");
  }
  rope(_out: Tensor, _x: Tensor, _positions: Tensor, _base: number, _inverse?: boolean): void {
    notYet("rope");
  }
  swiglu(_out: Tensor, _gu: Tensor): void {
    notYet("swiglu");
  }
  swigluBackward(_dGu: Tensor, _dOut: Tensor, _gu: Tensor): void {
    notYet("swigluBackward");
  }

  attention(out: Tensor, lse: Tensor, q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): void {
    this.rt.beginOp();
    encodeAttention(this.rt, { out, lse, q, k, v }, opts);
  }
  attentionBackward(
    dq: Tensor,
    dk: Tensor,
    dv: Tensor,
    dOut: Tensor,
    q: Tensor,
    k: Tensor,
    v: Tensor,
    out: Tensor,
    lse: Tensor,
    opts: AttentionOptions & { accumulateKV?: boolean } = {},
  ): void {
    this.rt.beginOp();
    encodeAttentionBackward(this.rt, { dq, dk, dv, dOut, q, k, v, out, lse }, opts);
  }

  crossEntropy(_losses: Tensor, _logits: Tensor, _targets: Tensor): void {
    notYet("crossEntropy");
  }
  crossEntropyBackward(_dLogits: Tensor, _logits: Tensor, _targets: Tensor, _scale: number): void {
    notYet("crossEntropyBackward");
  }
  sumSquares(_out: Tensor, _xs: readonly Tensor[]): void {
    notYet("sumSquares");
  }
  adamw(_param: Tensor, _grad: Tensor, _m: Tensor, _v: Tensor, _opts: AdamWOptions): void {
    notYet("adamw");
  }
}
