// `crosslayer generate --checkpoint DIR --prompt TEXT [--max-tokens --temperature --top-k --top-p
// --seed --stop ... --backend --json]`: loads a run or checkpoint folder (infer/load.ts) and streams
// the continuation to stdout as it is sampled; `--json` prints each chunk as one JSON line.
// Flag parsing only: validation with actionable errors is the engine's (RequestError).
import type { Command } from "commander";
import { ConfigError } from "../../errors.js";
import { engineFromCheckpoint } from "../../infer/load.js";
import { BACKEND_FLAG_HELP, backendFromFlag } from "../backend-option.js";

interface GenerateFlags {
  checkpoint: string;
  prompt: string;
  maxTokens?: string;
  temperature?: string;
  topK?: string;
  topP?: string;
  seed?: string;
  stop?: string[];
  backend?: string;
  json?: boolean;
}

/** A number flag, or undefined when absent; the engine checks its range. */
function num(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === "" || Number.isNaN(n)) throw new ConfigError(`--${flag} "${v}" is not a number`);
  return n;
}

export function registerGenerate(program: Command): void {
  program
    .command("generate")
    .description("continue a prompt with a trained model (paged KV cache engine), streaming to stdout")
    .requiredOption("--checkpoint <dir>", "a run folder (uses checkpoints/latest) or a checkpoint folder")
    .requiredOption("--prompt <text>", "the text to continue")
    .option("--max-tokens <n>", "tokens to generate at most (default 128, or what the context has left)")
    .option("--temperature <t>", "0 = greedy; default 1")
    .option("--top-k <k>", "keep the k most likely tokens (0 = off)")
    .option("--top-p <p>", "nucleus sampling mass in (0, 1] (1 = off)")
    .option("--seed <n>", "sampler seed (equal seeds, equal outputs); default 0")
    .option("--stop <strings...>", "stop strings (not printed)")
    .option("--backend <name>", BACKEND_FLAG_HELP)
    .option("--json", "one JSON object per chunk: {text, tokens, finishReason, usage?}")
    .action(async (f: GenerateFlags) => {
      const backend = await backendFromFlag(f.backend);
      const { engine, loaded } = engineFromCheckpoint(f.checkpoint, backend);
      const sampling = {
        maxTokens: num("max-tokens", f.maxTokens),
        temperature: num("temperature", f.temperature),
        topK: num("top-k", f.topK),
        topP: num("top-p", f.topP),
        seed: num("seed", f.seed),
      };
      const defined = Object.fromEntries(Object.entries(sampling).filter(([, v]) => v !== undefined));
      const out = (s: string) => process.stdout.write(s);
      try {
        const stream = engine.generate({ prompt: f.prompt, ...defined, ...(f.stop ? { stop: f.stop } : {}) });
        for await (const chunk of stream) {
          if (f.json)
            out(
              `${JSON.stringify({ text: chunk.text, tokens: chunk.tokens, finishReason: chunk.finishReason, ...(chunk.usage ? { usage: chunk.usage } : {}) })}\n`,
            );
          else out(chunk.text);
        }
        if (!f.json) out("\n");
      } finally {
        engine.dispose();
        loaded.model.dispose();
        backend.dispose();
      }
    });
}
