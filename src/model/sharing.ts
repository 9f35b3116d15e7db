// Cross-layer K/V sharing: resolves a config's KvSharing into the layer -> producer map (length L,
// producer[l] <= l, non-decreasing, producer[p] = p) and the producer (K/V-owning) layers P.
// Pure functions of (sharing, L); no accounting, no tensors. See docs/models.md for the patterns.
//
// How the paper's non-uniform L=20 patterns generalise to any L (each keeps KeepEnds' KV count
// P(L) = 2 + ceil((L - 2) / 2) for L >= 3, i.e. 11 at L = 20, so the three stay comparable; L <= 2: no sharing):
// - keep-ends:   [0] alone, then pairs over 1..L-2 (the last one single if L-2 is odd), [L-1] alone.
// - dense-front: P-2 unshared layers, one group of L-P+1 layers (its first produces), [L-1] alone.
//                L=20: layers 0..9 own K/V, 10..18 reuse 9, 19 alone.
// - dense-back:  the exact mirror of dense-front's group sizes: [0] alone, one group of L-P+1
//                layers, then P-2 unshared layers. L=20: 0 alone, 2..10 reuse 1, 11..19 own K/V.
//                (The paper's prose for DenseBack is not self-consistent; "CLA2 pairs in the front
//                half, then normal layers" would give 15 KV layers at L=20, not the 11 its table
//                reports. The mirror reading gives 11 and is what we implement.)
import { ConfigError } from "../errors.js";
import type { KvSharing, ModelConfig } from "./config-types.js";

export type SharingPattern = "keep-ends" | "dense-front" | "dense-back";
export const SHARING_PATTERNS: readonly SharingPattern[] = ["keep-ends", "dense-front", "dense-back"];

/** Producer map from group sizes (each group: its first layer produces, the rest reuse it). */
function fromGroupSizes(sizes: readonly number[]): number[] {
  const map: number[] = [];
  for (const s of sizes) {
    const p = map.length;
    for (let i = 0; i < s; i++) map.push(p);
  }
  return map;
}

/** Uniform CLA-s: groups of s consecutive layers; if s does not divide L the last group is smaller. */
export function uniformProducers(factor: number, nLayers: number): number[] {
  return Array.from({ length: nLayers }, (_, l) => l - (l % factor));
}

/** KV layers of the paper's non-uniform patterns at L layers (11 at L = 20). */
export function patternKvLayerCount(nLayers: number): number {
  return nLayers <= 2 ? nLayers : 2 + Math.ceil((nLayers - 2) / 2);
}

/** A named non-uniform pattern resolved for L layers (see the file header). */
export function patternProducers(pattern: SharingPattern, nLayers: number): number[] {
  const L = nLayers;
  if (L <= 2) return uniformProducers(1, L);
  const P = patternKvLayerCount(L);
  const ones = (n: number) => Array.from({ length: n }, () => 1);
  switch (pattern) {
    case "keep-ends": {
      const pairs = Array.from({ length: Math.ceil((L - 2) / 2) }, (_, i) =>
        i < Math.floor((L - 2) / 2) ? 2 : 1,
      );
      return fromGroupSizes([1, ...pairs, 1]);
    }
    case "dense-front":
      return fromGroupSizes([...ones(P - 2), L - P + 1, 1]);
    case "dense-back":
      return fromGroupSizes([1, L - P + 1, ...ones(P - 2)]);
  }
}

/**
 * Throws ConfigError unless `map` is a valid layer -> producer map (of length `nLayers` when given):
 * producer[0] = 0, producer[l] <= l, non-decreasing, and producers map to themselves.
 */
export function validateProducerMap(map: readonly number[], nLayers?: number): void {
  if (nLayers !== undefined && map.length !== nLayers) {
    throw new ConfigError(`producer map has ${map.length} entries but the model has ${nLayers} layers`);
  }
  if (map.length === 0) throw new ConfigError("producer map is empty: give one entry per layer");
  for (let l = 0; l < map.length; l++) {
    const p = map[l]!;
    if (!Number.isInteger(p) || p < 0 || p > l) {
      throw new ConfigError(
        `producer map entry ${l} is ${p}: a layer can only reuse itself or an earlier layer`,
      );
    }
    if (l > 0 && p < map[l - 1]!) {
      throw new ConfigError(
        `producer map is not non-decreasing at layer ${l} (${map[l - 1]} then ${p}): groups must be consecutive`,
      );
    }
    if (map[p] !== p) {
      throw new ConfigError(
        `layer ${l} reuses layer ${p}, which itself reuses ${map[p]}: point it at ${map[p]}`,
      );
    }
  }
}

/**
 * Normalises the JSON forms of `kvSharing` into a KvSharing: a factor (1 = none, 2 = CLA2), a
 * string ("cla2", "none", "keep-ends" / "KeepEnds", "dense-front", "dense-back"), a producers array,
 * or the object form. `fail` reports an error (ConfigError by default).
 */
export function parseKvSharing(
  input: unknown,
  nLayers: number,
  fail: (msg: string) => never = (m) => {
    throw new ConfigError(m);
  },
): KvSharing {
  const uniform = (factor: number): KvSharing => {
    if (!Number.isInteger(factor) || factor < 1 || factor > nLayers) {
      fail(`kvSharing factor ${factor} is out of range: use 1 (no sharing) to nLayers ${nLayers}`);
    }
    return { kind: "uniform", factor };
  };
  if (typeof input === "number") return uniform(input);
  if (Array.isArray(input)) return { kind: "map", producers: input.map(Number) };
  if (typeof input === "string") {
    const s = input.toLowerCase().replace(/[-_\s]/g, "");
    const cla = /^cla(\d+)$/.exec(s);
    if (cla) return uniform(Number(cla[1]));
    if (s === "none" || s === "") return uniform(1);
    const pattern = SHARING_PATTERNS.find((p) => p.replace(/-/g, "") === s);
    if (pattern) return { kind: "pattern", pattern };
    fail(
      `kvSharing "${input}" is not a known pattern: use a factor like 2 or "cla2", one of ` +
        `${SHARING_PATTERNS.map((p) => `"${p}"`).join(", ")}, or an explicit producers array`,
    );
  }
  if (typeof input === "object" && input !== null && "kind" in input) {
    const o = input as { kind: string; factor?: number; pattern?: string; producers?: number[] };
    if (o.kind === "uniform") return uniform(Number(o.factor));
    if (o.kind === "pattern") return parseKvSharing(String(o.pattern), nLayers, fail);
    if (o.kind === "map" && Array.isArray(o.producers)) return { kind: "map", producers: [...o.producers] };
  }
  return fail(`kvSharing ${JSON.stringify(input)} is not a factor, a pattern name or a producers array`);
}

/** layer -> producer layer (length L). Validates explicit maps. */
export function producerMap(cfg: Pick<ModelConfig, "nLayers" | "kvSharing">): number[] {
  const s = cfg.kvSharing;
  switch (s.kind) {
    case "uniform":
      return uniformProducers(s.factor, cfg.nLayers);
    case "pattern":
      return patternProducers(s.pattern, cfg.nLayers);
    case "map":
      validateProducerMap(s.producers, cfg.nLayers);
      return [...s.producers];
  }
}

/** The producer (K/V-owning) layers, ascending: the distinct values of the producer map. */
export function kvLayers(cfg: Pick<ModelConfig, "nLayers" | "kvSharing">): number[] {
  return producerMap(cfg).filter((p, l) => p === l);
}

/** A short human name for the sharing: "none", "CLA2", "keep-ends", "map". */
export function sharingLabel(s: KvSharing): string {
  if (s.kind === "uniform") return s.factor === 1 ? "none" : `CLA${s.factor}`;
  return s.kind === "pattern" ? s.pattern : "map";
}
