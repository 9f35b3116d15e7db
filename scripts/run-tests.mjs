// Runs every compiled test file with node's test runner; its summary ("# pass N", "# fail N")
// closes the output. Files run one at a time: the WebGPU tests share one software device in CI.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const filter = process.argv[2];
function collect(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return collect(p);
    return p.endsWith(".test.js") && (!filter || p.includes(filter)) ? [p] : [];
  });
}
const files = collect(join(root, "dist/test")).sort();
const r = spawnSync(process.execPath, ["--test", "--test-concurrency=1", "--test-reporter=spec", ...files], {
  stdio: "inherit",
});
process.exit(r.status ?? 1);
