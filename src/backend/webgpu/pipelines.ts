// Compute pipelines cached by (kernel key, entry point, override constants, variant), with explicit
// bind-group layouts: @binding(0) a uniform with a dynamic offset (the params ring; a static one for
// the dispatches of host-bound tapes, which keep their ring slot: tape.ts), @binding(1..n) storage
// buffers whose access (read / read_write) is parsed from the WGSL declarations.
// The "aliased" variant rewrites every `var<storage, read>` to read_write: WebGPU forbids a buffer
// bound read-only and writable in one dispatch, but allows two writable bindings at disjoint ranges.
/// <reference types="@webgpu/types" />
import { BackendError } from "../../errors.js";
import { SHADER_STAGE_COMPUTE } from "./device.js";

export interface KernelSource {
  /** Unique cache key of the generated source (e.g. "add", "matmul_tiled:64x64x8:..."). */
  key: string;
  /** The WGSL text (called once per key). */
  source: string | (() => string);
}

export interface PipelineEntry {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  /** Access of storage bindings 1..n: true = writable. */
  writable: boolean[];
  /** Layout key (for bind-group caching). */
  layoutKey: string;
}

interface ParsedSource {
  text: string;
  /** binding number -> writable, for storage bindings of group 0. */
  access: Map<number, boolean>;
}

const STORAGE_DECL = /@group\(0\)\s*@binding\((\d+)\)\s*var\s*<\s*storage\s*(?:,\s*(read_write|read)\s*)?>/g;

const OVERRIDE_DECL = /override\s+(\w+)\s*:\s*(u32|i32|f32|bool)\s*(?:=\s*([^;]+))?;/g;

/**
 * Turns `override NAME: T = default;` into `const NAME: T = value;` (value from `constants`, else the
 * default). Specialising as text lets constants size workgroup arrays and keeps one code path on
 * every backend (Dawn's GL backend handles pipeline constants less well-trodden).
 */
export function specialize(text: string, constants: Record<string, number>, key: string): string {
  const seen = new Set<string>();
  const out = text.replace(OVERRIDE_DECL, (_m, name: string, type: string, def?: string) => {
    seen.add(name);
    const v = constants[name];
    if (v === undefined) {
      if (def === undefined) throw new BackendError(`kernel ${key} needs override constant ${name}`);
      return `const ${name}: ${type} = ${def.trim()};`;
    }
    const lit =
      type === "bool"
        ? String(v !== 0)
        : type === "f32"
          ? `${Number.isInteger(v) ? v.toFixed(1) : String(v)}f`
          : `${v}${type === "u32" ? "u" : "i"}`;
    return `const ${name}: ${type} = ${lit};`;
  });
  for (const name of Object.keys(constants)) {
    if (!seen.has(name)) throw new BackendError(`kernel ${key} declares no override constant ${name}`);
  }
  return out;
}

export class PipelineCache {
  private readonly sources = new Map<string, ParsedSource>();
  private readonly pipelines = new Map<string, PipelineEntry>();
  private readonly layouts = new Map<string, GPUBindGroupLayout>();
  private readonly pipelineLayouts = new Map<string, GPUPipelineLayout>();

  constructor(
    private readonly device: GPUDevice,
    /** Called with each pipeline's async validation result, to surface compile errors. */
    private readonly onError: (message: string) => void,
  ) {}

  private parsed(k: KernelSource): ParsedSource {
    let p = this.sources.get(k.key);
    if (!p) {
      const text = typeof k.source === "string" ? k.source : k.source();
      const access = new Map<number, boolean>();
      for (const m of text.matchAll(STORAGE_DECL)) access.set(Number(m[1]), m[2] === "read_write");
      p = { text, access };
      this.sources.set(k.key, p);
    }
    return p;
  }

  private layoutFor(
    writable: boolean[],
    staticParams: boolean,
  ): { layout: GPUBindGroupLayout; key: string; pl: GPUPipelineLayout } {
    const key = (staticParams ? "s" : "") + writable.map((w) => (w ? "w" : "r")).join("");
    let layout = this.layouts.get(key);
    let pl = this.pipelineLayouts.get(key);
    if (!layout || !pl) {
      const entries: GPUBindGroupLayoutEntry[] = [
        {
          binding: 0,
          visibility: SHADER_STAGE_COMPUTE,
          buffer: { type: "uniform", hasDynamicOffset: !staticParams },
        },
      ];
      writable.forEach((w, i) => {
        entries.push({
          binding: i + 1,
          visibility: SHADER_STAGE_COMPUTE,
          buffer: { type: w ? "storage" : "read-only-storage" },
        });
      });
      layout = this.device.createBindGroupLayout({ entries, label: `layout ${key}` });
      pl = this.device.createPipelineLayout({ bindGroupLayouts: [layout], label: `layout ${key}` });
      this.layouts.set(key, layout);
      this.pipelineLayouts.set(key, pl);
    }
    return { layout, key, pl };
  }

  /** Storage access of bindings 1..n as declared (before any aliasing rewrite). */
  declaredWritable(k: KernelSource, n: number): boolean[] {
    const { access } = this.parsed(k);
    const out: boolean[] = [];
    for (let i = 1; i <= n; i++) {
      const w = access.get(i);
      if (w === undefined) {
        throw new BackendError(
          `kernel ${k.key} declares no storage buffer at @group(0) @binding(${i}) but the dispatch binds ${n} tensors`,
        );
      }
      out.push(w);
    }
    return out;
  }

  get(
    k: KernelSource,
    n: number,
    opts: { entry?: string; constants?: Record<string, number>; aliased?: boolean; staticParams?: boolean },
  ): PipelineEntry {
    const entry = opts.entry ?? "main";
    // hot path (every dispatch): a plain concatenation, in the caller's key order (a different
    // order only costs a duplicate pipeline, never a wrong one)
    let consts = "";
    if (opts.constants) for (const c in opts.constants) consts += `${c}=${opts.constants[c]},`;
    const cacheKey = `${k.key}|${entry}|${consts}|${n}|${opts.aliased ? 1 : 0}${opts.staticParams ? 1 : 0}`;
    const hit = this.pipelines.get(cacheKey);
    if (hit) return hit;
    const declared = this.declaredWritable(k, n);
    const writable = opts.aliased ? declared.map(() => true) : declared;
    let code = specialize(this.parsed(k).text, opts.constants ?? {}, k.key);
    if (opts.aliased) code = code.replace(/var\s*<\s*storage\s*(,\s*read\s*)?>/g, "var<storage, read_write>");
    const { layout, key, pl } = this.layoutFor(writable, opts.staticParams ?? false);
    this.device.pushErrorScope("validation");
    const module = this.device.createShaderModule({ code, label: k.key });
    const pipeline = this.device.createComputePipeline({
      layout: pl,
      compute: { module, entryPoint: entry },
      label: `${k.key}:${entry}`,
    });
    void this.device.popErrorScope().then((err) => {
      if (err) this.onError(`kernel ${k.key} (entry ${entry}) failed to compile: ${err.message}`);
    });
    const e: PipelineEntry = { pipeline, layout, writable, layoutKey: key };
    this.pipelines.set(cacheKey, e);
    return e;
  }
}
