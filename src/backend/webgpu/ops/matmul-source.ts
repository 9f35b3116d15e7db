// WGSL source of the matmul kernels for one variant: the constants, operand loaders and shared
// fragments (kernels/matmul_params.wgsl; matmul_vec_loads.wgsl for the vector-loading kernels)
// prepended to kernels/matmul_tiled.wgsl, matmul_unrolled.wgsl (whose k loop, accumulators and
// epilogue are written out here) and matmul_subgroup.wgsl, and the pipeline cache key of each.
import type { DType } from "../../tensor.js";
import { ShapeError } from "../../../errors.js";
import { WGSL } from "../kernels/wgsl.generated.js";
import type { MatmulTile } from "./matmul.js";

/** WGSL declaring storage binding `binding` as `name` and `fn fnName(i) -> f32` reading element i. */
export function storageLoadWgsl(name: string, binding: number, dtype: DType, fnName: string): string {
  if (dtype === "f32") {
    return `@group(0) @binding(${binding}) var<storage, read> ${name}: array<f32>;
fn ${fnName}(i: u32) -> f32 { return ${name}[i]; }\n`;
  }
  const decl = `@group(0) @binding(${binding}) var<storage, read> ${name}: array<u32>;\n`;
  if (dtype === "f16") {
    return `${decl}fn ${fnName}(i: u32) -> f32 { return unpack2x16float(${name}[i >> 1u])[i & 1u]; }\n`;
  }
  if (dtype === "bf16") {
    return `${decl}fn ${fnName}(i: u32) -> f32 {
  let w = ${name}[i >> 1u];
  return bitcast<f32>(select(w << 16u, w & 0xffff0000u, (i & 1u) == 1u));
}\n`;
  }
  throw new ShapeError(`${name} must be f32, f16 or bf16 storage, got ${dtype}`);
}

/** An embedded kernel file's text (scripts/build-assets.mjs embeds kernels/*.wgsl). */
function embedded(name: string): string {
  const text = WGSL[name];
  if (!text)
    throw new ShapeError(`kernel ${name}.wgsl is not embedded: run \`node scripts/build-assets.mjs\``);
  return text;
}

export interface MatmulVariant {
  /** "unrolled": matmul_unrolled.wgsl (tiles with `unrolled`); "subgroup": the tensor-core kernel
   *  (tile fixed at SUBGROUP_TILE); "tiled" (default): matmul_tiled.wgsl. */
  kind?: "tiled" | "unrolled" | "subgroup";
  tile: MatmulTile;
  transA: boolean;
  transB: boolean;
  /** Bounds tests; false only when the shape is a multiple of the tile. */
  check: boolean;
  bDtype: DType;
  /** Unrolled kernel: block rows per group of the launch order (0: the grid's order; default 8,
   *  +1-6% at 4096-8192 on an H100 against the grid's order). */
  groupM?: number;
  /** Unrolled and tensor-core kernels: elements per load of a / b (4 when aligned, vectorWidth). */
  va?: 1 | 4;
  vb?: 1 | 4;
}

export function matmulKey(v: MatmulVariant): string {
  const t = v.tile;
  const flags = `${+v.transA}${+v.transB}${+v.check}`;
  if (v.kind === "subgroup") return `matmul_subgroup:${flags}:${v.va ?? 1}${v.vb ?? 1}:${v.bDtype}`;
  if (v.kind === "unrolled") {
    return `matmul_unrolled:${t.bm}x${t.bn}x${t.bk}:${t.tm}x${t.tn}:${flags}:${v.va ?? 1}${v.vb ?? 1}:${v.bDtype}`;
  }
  return `matmul_tiled:${t.bm}x${t.bn}x${t.bk}:${t.tm}x${t.tn}:${flags}:${v.bDtype}`;
}

export function matmulSource(v: MatmulVariant): string {
  if (v.kind === "subgroup") return subgroupSource(v);
  if (v.kind === "unrolled") return unrolledSource(v);
  const b = storageLoadWgsl("b", 2, v.bDtype, "loadB");
  return `${tileHead(v, false)}\n${b}\n${embedded("matmul_params")}\n${embedded("matmul_tiled")}`;
}

/** Operand loaders and the shared fragments of the vector-loading kernels. */
function vectorPrelude(v: MatmulVariant): string {
  const a = storageLoad4Wgsl("a", 1, "f32", "loadA", v.va ?? 1);
  const b = storageLoad4Wgsl("b", 2, v.bDtype, "loadB", v.vb ?? 1);
  return `${tileHead(v, true)}\n${a}${b}\n${embedded("matmul_params")}\n${embedded("matmul_vec_loads")}`;
}

/**
 * matmul_unrolled.wgsl with its marked lines filled for tile t: the TM * TN / 4 accumulators
 * c0.., BK steps of (TM / 4 + TN / 4) fragment loads at constant indices and TM * TN / 4 vec4 FMAs,
 * and the epilogue (accumulator x = (i * 4 + r) * TN / 4 + j holds row 4 (i TY + ty) + r, columns
 * 4 (j TX + tx) ..).
 */
function unrolledSource(v: MatmulVariant): string {
  const t = v.tile;
  const body = embedded("matmul_unrolled");
  const fi = t.tm / 4;
  const fj = t.tn / 4;
  const acc = (i: number, r: number, j: number) => (i * 4 + r) * fj + j;
  const decl: string[] = [];
  for (let x = 0; x < (t.tm * t.tn) / 4; x++) decl.push(`var c${x} = vec4<f32>(0.0);`);
  const inner: string[] = [];
  for (let k = 0; k < t.bk; k++) {
    inner.push("{");
    for (let i = 0; i < fi; i++) inner.push(`  let a${i} = (*ar)[${k * fi + i}];`);
    for (let j = 0; j < fj; j++) inner.push(`  let b${j} = (*br)[${k * fj + j}];`);
    for (let i = 0; i < fi; i++) {
      for (let r = 0; r < 4; r++) {
        for (let j = 0; j < fj; j++)
          inner.push(`  c${acc(i, r, j)} = fma(vec4<f32>(a${i}[${r}]), b${j}, c${acc(i, r, j)});`);
      }
    }
    inner.push("}");
  }
  const epi: string[] = [];
  for (let i = 0; i < fi; i++) {
    for (let r = 0; r < 4; r++) {
      for (let j = 0; j < fj; j++) {
        epi.push(
          `emit(m0 + (${i}u * TY + ty) * 4u + ${r}u, n0 + (${j}u * TX + tx) * 4u, c${acc(i, r, j)}, oBase);`,
        );
      }
    }
  }
  const fill = (src: string, mark: string, lines: string[]) => {
    const at = src.indexOf(`//@${mark}`);
    if (at < 0) throw new ShapeError(`matmul_unrolled.wgsl lacks its //@${mark} line`);
    const indent = src.slice(src.lastIndexOf("\n", at) + 1, at);
    return src.slice(0, at) + lines.join(`\n${indent}`) + src.slice(at + mark.length + 3);
  };
  let src = fill(body, "ACCUMULATORS", decl);
  src = fill(src, "INNER_LOOP", inner);
  src = fill(src, "EPILOGUE", epi);
  return `${vectorPrelude(v)}\nconst GROUP_M: u32 = ${v.groupM ?? 8}u;\n${src}`;
}

/** The constants every matmul kernel reads (VA / VB for the vector-loading kernels). */
function tileHead(v: MatmulVariant, vectors: boolean): string {
  const t = v.tile;
  const lines = [
    `const BM: u32 = ${t.bm}u;`,
    `const BN: u32 = ${t.bn}u;`,
    `const BK: u32 = ${t.bk}u;`,
    `const TM: u32 = ${t.tm}u;`,
    `const TN: u32 = ${t.tn}u;`,
    `const TRANS_A: bool = ${v.transA};`,
    `const TRANS_B: bool = ${v.transB};`,
    `const CHECK: bool = ${v.check};`,
  ];
  if (vectors) lines.push(`const VA: u32 = ${v.va ?? 1}u;`, `const VB: u32 = ${v.vb ?? 1}u;`);
  return lines.join("\n");
}

function subgroupSource(v: MatmulVariant): string {
  const body = embedded("matmul_subgroup");
  // The subgroup index t / 32 is subgroup-uniform on NVIDIA (32 lanes, linear invocation order) but
  // not provably so to WGSL's uniformity analysis, and this Dawn has no diagnostic rule for it.
  const enables =
    "enable f16;\nenable chromium_experimental_subgroup_matrix;\nenable chromium_disable_uniformity_analysis;\n";
  return `${enables}${vectorPrelude(v)}\n${body}`;
}

/**
 * WGSL declaring storage binding `binding` as `name` and `fn fnName(i) -> vec4<f32>`: the `width`
 * (4 or 1) elements from element i on (i a multiple of 4 when width is 4; the rest zero when 1).
 */
export function storageLoad4Wgsl(
  name: string,
  binding: number,
  dtype: DType,
  fnName: string,
  width: 1 | 4,
): string {
  if (width === 1) {
    return `${storageLoadWgsl(name, binding, dtype, `${fnName}1`)}fn ${fnName}(i: u32) -> vec4<f32> { return vec4<f32>(${fnName}1(i), 0.0, 0.0, 0.0); }\n`;
  }
  const decl = (ty: string) => `@group(0) @binding(${binding}) var<storage, read> ${name}: array<${ty}>;\n`;
  if (dtype === "f32")
    return `${decl("vec4<f32>")}fn ${fnName}(i: u32) -> vec4<f32> { return ${name}[i >> 2u]; }\n`;
  if (dtype === "f16") {
    return `${decl("vec2<u32>")}fn ${fnName}(i: u32) -> vec4<f32> {
  let w = ${name}[i >> 2u];
  return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y));
}\n`;
  }
  if (dtype === "bf16") {
    return `${decl("vec2<u32>")}fn ${fnName}(i: u32) -> vec4<f32> {
  let w = ${name}[i >> 2u];
  return bitcast<vec4<f32>>(vec4<u32>(w.x << 16u, w.x & 0xffff0000u, w.y << 16u, w.y & 0xffff0000u));
}\n`;
  }
  throw new ShapeError(`${name} must be f32, f16 or bf16 storage, got ${dtype}`);
}

/**
 * Elements per load the unrolled and tensor-core kernels may use for an operand: 4 when the operand's
 * contiguous dimension and its element offset are multiples of 4 (every chunk of 4 then lies
 * wholly inside one row and the binding, see bind-ranges.ts), else 1.
 */
export function vectorWidth(contiguous: number, offset: number): 1 | 4 {
  return contiguous % 4 === 0 && offset % 4 === 0 ? 4 : 1;
}
