// Reference batched matmul: out (batch, M, N) = alpha * op(a) @ op(b) (+ out if accumulate).
// op(a) is (M, K), stored (M, K) or (K, M) when transA; op(b) is (K, N), stored (K, N) or (N, K)
// when transB. Strides are in elements between batch items; strideB 0 broadcasts b. No validation.
import type { Span } from "./types.js";

export interface MatmulArgs {
  out: Span; // (batch, M, N)
  a: Span; // (batch, M, K) or (batch, K, M)
  b: Span; // (batch|1, K, N) or (batch|1, N, K)
  m: number;
  n: number;
  k: number;
  batch: number;
  strideA: number;
  strideB: number;
  strideC: number;
  transA: boolean;
  transB: boolean;
  alpha: number;
  accumulate: boolean;
}

export function matmulRef(p: MatmulArgs): void {
  const { m, n, k, alpha } = p;
  const A = p.a.data;
  const B = p.b.data;
  const C = p.out.data;
  const row = new Float64Array(n);
  for (let bi = 0; bi < p.batch; bi++) {
    const a0 = p.a.off + bi * p.strideA;
    const b0 = p.b.off + bi * p.strideB;
    const c0 = p.out.off + bi * p.strideC;
    for (let i = 0; i < m; i++) {
      row.fill(0);
      if (p.transB) {
        // b stored (N, K): dot products over contiguous rows
        for (let j = 0; j < n; j++) {
          let s = 0;
          const bj = b0 + j * k;
          if (p.transA) for (let q = 0; q < k; q++) s += A[a0 + q * m + i]! * B[bj + q]!;
          else for (let q = 0, ai = a0 + i * k; q < k; q++) s += A[ai + q]! * B[bj + q]!;
          row[j] = s;
        }
      } else {
        // b stored (K, N): axpy over rows of b
        for (let q = 0; q < k; q++) {
          const aiq = p.transA ? A[a0 + q * m + i]! : A[a0 + i * k + q]!;
          const bq = b0 + q * n;
          for (let j = 0; j < n; j++) row[j]! += aiq * B[bq + j]!;
        }
      }
      const ci = c0 + i * n;
      if (p.accumulate) for (let j = 0; j < n; j++) C[ci + j]! += alpha * row[j]!;
      else for (let j = 0; j < n; j++) C[ci + j] = alpha * row[j]!;
    }
  }
}
