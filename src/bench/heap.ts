// A full garbage collection before a timed window (benchmark hygiene, like gpu-spin.ts for the
// GPU's clocks): garbage left by set-up and earlier rows is not collected inside the window. On
// the H100 machine 5 of 12 decode rows (mostly 128-row ones) otherwise held one 70-240 ms pause in
// their 512 timed steps (the GPU idle meanwhile: 0.2-0.5 ms on the mean step); with it 1-3 of 12,
// the rows' own collections. Node only.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let gc: (() => void) | null | undefined;

/** Runs a full, blocking collection; false where the runtime offers none. */
export function collectGarbage(): boolean {
  if (gc === undefined) {
    gc = (globalThis as { gc?: () => void }).gc ?? null;
    if (gc === null) {
      try {
        setFlagsFromString("--expose-gc"); // takes effect for contexts created after it
        gc = runInNewContext("gc") as () => void;
      } catch {
        gc = null;
      }
    }
  }
  gc?.();
  return gc !== null;
}
