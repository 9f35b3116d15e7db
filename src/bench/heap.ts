// A full garbage collection before a timed window (benchmark hygiene, like gpu-spin.ts for the
// GPU's clocks): garbage left by set-up and earlier rows is not collected inside the window. On
// the H100 machine a 128-row decode row's 512 steps otherwise took one 60-150 ms pause (the GPU
// idle meanwhile: ~0.2 ms on the mean step). Node only.
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
