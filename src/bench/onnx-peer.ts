// Peer for the CPU matmul rows: onnxruntime-node's MatMul (a dev dependency, loaded dynamically;
// absent -> the caller prints a note and skips). The one-node ONNX model is encoded here as
// protobuf bytes, so no model file or onnx tooling is needed.

// ---- minimal protobuf writer (varints and length-delimited fields only) ----------------------
function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}
const intField = (field: number, v: number) => [...varint(field * 8), ...varint(v)];
function bytesField(field: number, body: number[] | string): number[] {
  const b = typeof body === "string" ? [...new TextEncoder().encode(body)] : body;
  return [...varint(field * 8 + 2), ...varint(b.length), ...b];
}

const FLOAT = 1;
// ValueInfoProto{name, type: TypeProto{tensor_type{elem_type, shape{dim{dim_value}}}}}
function tensorInfo(name: string, dims: readonly number[]): number[] {
  const shape = dims.flatMap((d) => bytesField(1, intField(1, d)));
  const tensorType = [...intField(1, FLOAT), ...bytesField(2, shape)];
  return [...bytesField(1, name), ...bytesField(2, bytesField(1, tensorType))];
}

/** ONNX model bytes: C (M, N) = A (M, K) @ B (K, N), f32, opset 13. */
export function matmulModelBytes(m: number, n: number, k: number): Uint8Array {
  const node = [
    ...bytesField(1, "A"),
    ...bytesField(1, "B"),
    ...bytesField(2, "C"),
    ...bytesField(4, "MatMul"),
  ];
  const graph = [
    ...bytesField(1, node),
    ...bytesField(2, "matmul"),
    ...bytesField(11, tensorInfo("A", [m, k])),
    ...bytesField(11, tensorInfo("B", [k, n])),
    ...bytesField(12, tensorInfo("C", [m, n])),
  ];
  const opset = [...bytesField(1, ""), ...intField(2, 13)];
  return new Uint8Array([
    ...intField(1, 8),
    ...bytesField(2, "crosslayer-bench"),
    ...bytesField(7, graph),
    ...bytesField(8, opset),
  ]);
}

/** A ready-to-time matmul of one shape on the peer. */
export interface PeerMatmul {
  run(): Promise<void>;
  release(): Promise<void>;
}

export interface MatmulPeer {
  readonly name: string;
  prepare(m: number, n: number, k: number): Promise<PeerMatmul>;
}

type Ort = typeof import("onnxruntime-node");

/** onnxruntime-node on `threads` intra-op threads, or the reason it is unavailable. */
export async function loadOnnxPeer(threads: number): Promise<MatmulPeer | { unavailable: string }> {
  let ort: Ort;
  let version = "";
  try {
    const spec = "onnxruntime-node";
    ort = (await import(spec)) as Ort;
    version = (ort as unknown as { env?: { versions?: { node?: string } } }).env?.versions?.node ?? "";
  } catch (e) {
    return { unavailable: `onnxruntime-node not loadable (${e instanceof Error ? e.message : String(e)})` };
  }
  const mod = (ort as unknown as { default?: Ort }).default ?? ort;
  return {
    name: `onnxruntime-node${version ? ` ${version}` : ""}`,
    async prepare(m, n, k) {
      const session = await mod.InferenceSession.create(matmulModelBytes(m, n, k), {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: "sequential",
        graphOptimizationLevel: "all",
        // idle ORT threads must not spin into the timings of our kernels that follow
        extra: { session: { intra_op: { allow_spinning: "0" } } },
      });
      const a = new mod.Tensor(
        "float32",
        Float32Array.from({ length: m * k }, () => Math.random() - 0.5),
        [m, k],
      );
      const b = new mod.Tensor(
        "float32",
        Float32Array.from({ length: k * n }, () => Math.random() - 0.5),
        [k, n],
      );
      return {
        async run() {
          await session.run({ A: a, B: b });
        },
        release: () => session.release(),
      };
    },
  };
}
