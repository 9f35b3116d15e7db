// How idle the machine's CPUs are right now, from the per-core tick counters of node:os over a
// short window: CPU benchmark timings mean little while other processes use the cores.
// A reading for the report only; it does not wait for the machine to become idle.
import { cpus } from "node:os";

function ticks(): { idle: number; total: number } {
  let idle = 0;
  let total = 0;
  for (const c of cpus()) {
    idle += c.times.idle;
    total += c.times.user + c.times.nice + c.times.sys + c.times.irq + c.times.idle;
  }
  return { idle, total };
}

/** Fraction of CPU time (all cores) spent idle over the next `ms` milliseconds. */
export async function idleFraction(ms = 500): Promise<number> {
  const a = ticks();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const b = ticks();
  const total = b.total - a.total;
  return total > 0 ? (b.idle - a.idle) / total : 1;
}

/** A note for the bench output, warning when the cores were busy before the run. */
export function idleNote(fraction: number): string {
  const pct = Math.round(100 * fraction);
  const warn = fraction < 0.9 ? ": other processes are using the CPUs, CPU timings are unreliable" : "";
  return `CPUs ${pct}% idle just before the run${warn}`;
}
