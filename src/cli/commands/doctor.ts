// `crosslayer doctor`: which backends start on this machine, with each device's name, features
// and limits. `--json` prints {"backends":[{name, device, detail, features, limits}], "unavailable":[...]}.
import type { Command } from "commander";
import { probeBackends } from "../../backend/registry.js";
import { missingTensorCoreFeatures } from "../../backend/webgpu/ops/matmul.js";

export function registerDoctor(program: Command): void {
  program
    .command("doctor")
    .description("list the compute backends available here (CPU/WebAssembly, WebGPU) and their limits")
    .option("--json", "machine-readable output")
    .action(async (opts: { json?: boolean }) => {
      const { ok, failed } = await probeBackends();
      const backends = ok.map((b) => b.info());
      for (const b of ok) b.dispose();
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ backends, unavailable: failed })}\n`);
        return;
      }
      for (const b of backends) {
        process.stdout.write(`${b.name}: ${b.device} (${b.detail})\n`);
        process.stdout.write(`  features: ${b.features.length ? b.features.join(", ") : "(none)"}\n`);
        const limits = Object.entries(b.limits).map(([k, v]) => `${k}=${v}`);
        process.stdout.write(`  limits: ${limits.join(", ")}\n`);
        if (b.name === "webgpu") {
          const missing = missingTensorCoreFeatures(b.features);
          const tc = missing.length ? `no (needs ${missing.join(", ")})` : "yes (train/bench --tensor-cores)";
          process.stdout.write(`  f16 tensor-core matmul: ${tc}\n`);
        }
      }
      for (const f of failed) process.stdout.write(`${f.name}: unavailable: ${f.reason}\n`);
    });
}
