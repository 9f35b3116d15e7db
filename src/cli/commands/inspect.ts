// `crosslayer inspect <preset|config.json> [--json] [--context N]`: a config's parameters, FLOPs per
// token, layer -> producer map and KV bytes per token (16-bit and storage dtype); `--list` lists the
// presets. `--json` prints one object (one per line for --list). Accounting lives in model/accounting.ts.
import type { Command } from "commander";
import { accountModel, type ModelAccounting } from "../../model/accounting.js";
import type { ModelConfig } from "../../model/config-types.js";
import { loadModelConfig } from "../../model/config.js";
import { formatBytes, formatCount, parseTokenCount } from "../../model/plan.js";
import { listPresets } from "../../model/presets/index.js";
import { sharingLabel } from "../../model/sharing.js";

function headLabel(cfg: ModelConfig): string {
  if (cfg.nKvHeads === cfg.nHeads) return "MHA";
  return cfg.nKvHeads === 1 ? "MQA" : `GQA, ${cfg.nHeads / cfg.nKvHeads} query heads per K/V head`;
}

/** "0 | 1-2 <- 1 | 3" style groups of the producer map. */
export function formatGroups(map: readonly number[]): string {
  const parts: string[] = [];
  for (let l = 0; l < map.length; ) {
    let end = l;
    while (end + 1 < map.length && map[end + 1] === map[l]) end++;
    parts.push(end === l ? `${l}` : `${l}-${end} <- ${l}`);
    l = end + 1;
  }
  return parts.join(" | ");
}

function printText(cfg: ModelConfig, a: ModelAccounting): void {
  const pc = a.paramCounts;
  const out = [
    `${cfg.name}`,
    `  shape      V ${cfg.vocabSize}, C ${cfg.dModel}, L ${cfg.nLayers}, H ${cfg.nHeads} x D ${cfg.headDim}, ` +
      `Hkv ${cfg.nKvHeads} (${headLabel(cfg)}), F ${cfg.ffnDim}, max seq ${cfg.maxSeqLen}`,
    `  sharing    ${sharingLabel(cfg.kvSharing)}: ${a.kvLayers.length} of ${cfg.nLayers} layers own K/V`,
    `  params     ${a.params.toLocaleString("en-US")} (${formatCount(a.params)}): embedding ${formatCount(pc.embedding)}, ` +
      `unembedding ${cfg.tiedEmbeddings ? "tied" : formatCount(pc.unembedding)}, non-embedding ${formatCount(pc.nonEmbedding)} ` +
      `(K/V projections ${formatCount(pc.attentionKv)})`,
    `  FLOPs/tok  ${formatCount(a.flopsPerToken.forward)} forward at context ${a.context} ` +
      `(matmul ${formatCount(a.flopsPerToken.matmul)}, attention ${formatCount(a.flopsPerToken.attention)}); ` +
      `training ${formatCount(a.trainFlopsPerToken)} (3x forward, causal average over ${cfg.maxSeqLen})`,
    `  K/V owners ${a.kvLayers.join(" ")}`,
    `  layer map  ${formatGroups(a.producerMap)}   (a-b <- p: layers a..b read layer p's K/V)`,
    `  KV/token   ${a.kvBytesPerToken16} B at 16 bits; ${a.kvBytesPerToken} B at ${a.kvDtype} ` +
      `(2 x Hkv ${cfg.nKvHeads} x D ${cfg.headDim} x ${a.kvLayers.length} KV layers x bytes)`,
    `  KV/seq     ${formatBytes(a.kvBytesPerSequence)} at ${a.kvDtype} for ${a.context} tokens`,
  ];
  process.stdout.write(`${out.join("\n")}\n`);
}

function printList(json: boolean): void {
  const presets = listPresets();
  if (json) {
    for (const p of presets) {
      const a = accountModel(p.config);
      const line = { name: p.name, family: p.family, params: a.params, kvLayers: a.kvLayers.length };
      process.stdout.write(`${JSON.stringify({ ...line, kvBytesPerToken16: a.kvBytesPerToken16 })}\n`);
    }
    return;
  }
  const rows = presets.map((p) => {
    const a = accountModel(p.config);
    return [p.name, p.family, formatCount(a.params), String(a.kvLayers.length), String(a.kvBytesPerToken16)];
  });
  const head = ["preset", "family", "params", "KV layers", "KV B/token (16-bit)"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) =>
    r.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  process.stdout.write(`${[fmt(head), ...rows.map(fmt)].join("\n")}\n`);
}

export function registerInspect(program: Command): void {
  program
    .command("inspect")
    .description(
      "parameters, FLOPs/token, the layer -> K/V producer map and KV bytes/token of a preset or config file",
    )
    .argument("[config]", "a preset name (see --list) or a path to a JSON model config")
    .option("--json", "machine-readable output (one JSON object; one per line with --list)")
    .option(
      "--context <tokens>",
      "context length for FLOPs and KV per sequence (default: the config's maxSeqLen)",
    )
    .option("--list", "list the presets")
    .action((config: string | undefined, opts: { json?: boolean; context?: string; list?: boolean }) => {
      if (opts.list || config === undefined) {
        printList(Boolean(opts.json));
        return;
      }
      const cfg = loadModelConfig(config);
      const context = opts.context === undefined ? undefined : parseTokenCount(opts.context, "--context");
      const a = accountModel(cfg, { context });
      if (opts.json) process.stdout.write(`${JSON.stringify({ ...a, config: cfg })}\n`);
      else printText(cfg, a);
    });
}
