// Synchronous fork-join over kernel workers that share one wasm memory: the caller writes a job
// (export index + numeric args) into a shared control block, wakes the workers with
// Atomics.notify, runs its own share, and waits with Atomics.wait. No postMessage per job.
// Workers come from a WorkerSpawner (Node's worker_threads now; a Web Worker spawner can plug in).
import { BackendError } from "../../../errors.js";
import { NODE_WORKER_SOURCE, WEB_WORKER_SOURCE } from "./worker-source.js";

// Control block slots (Int32Array indices), mirrored in worker-source.ts.
const CTL_GEN = 0;
const CTL_DONE = 1;
const CTL_STOP = 2;
const CTL_FN = 3;
const CTL_NARGS = 4;
const CTL_ERROR = 5;
/** Workers that joined the running job; CLOSED is set once the caller stops waiting for joiners. */
const CTL_JOIN = 6;
const CLOSED = 0x40000000;
const MAX_ARGS = 32;
const DEFAULT_SPIN_MS = 1;
const MAIN_SPINS = 1 << 16;

/** What each worker receives once, at start. */
export interface WorkerData {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  ctlBuffer: SharedArrayBuffer;
  argBuffer: SharedArrayBuffer;
  /** Byte address of this worker's scratch area. */
  scratch: number;
  /** Milliseconds a worker busy-polls for the next job before sleeping in Atomics.wait. */
  spinMs: number;
  /** Export names, indexed by the job's function index. */
  fns: readonly string[];
}

export interface WorkerHandle {
  terminate(): void;
}

/** Starts one worker running the kernel loop; resolves once it has instantiated the module. */
export type WorkerSpawner = (data: WorkerData) => Promise<WorkerHandle>;

export const nodeSpawner: WorkerSpawner = async (data) => {
  const { Worker } = await import("node:worker_threads");
  // no inherited flags: the worker runs plain JS (no loaders such as tsx needed, faster start)
  const w = new Worker(NODE_WORKER_SOURCE, { eval: true, workerData: data, execArgv: [] });
  await new Promise<void>((resolve, reject) => {
    w.once("message", () => resolve());
    w.once("error", reject);
    w.once("exit", (code) => reject(new BackendError(`wasm kernel worker exited early (code ${code})`)));
  });
  w.removeAllListeners("exit");
  w.removeAllListeners("error");
  w.on("error", () => undefined);
  w.unref();
  return { terminate: () => void w.terminate() };
};

/**
 * Web Workers from a Blob URL (untested here: no browser in CI). Atomics.wait is not allowed on
 * a browser's main thread, so in browsers the backend itself must run inside a worker.
 */
export const webSpawner: WorkerSpawner = (data) =>
  new Promise((resolve, reject) => {
    const url = URL.createObjectURL(new Blob([WEB_WORKER_SOURCE], { type: "text/javascript" }));
    const w = new Worker(url);
    w.onmessage = () => {
      URL.revokeObjectURL(url);
      resolve({ terminate: () => w.terminate() });
    };
    w.onerror = (e) => reject(new BackendError(`wasm kernel worker failed to start: ${e.message}`));
    w.postMessage(data);
  });

function defaultSpawner(): WorkerSpawner {
  const isNode = typeof process !== "undefined" && typeof process.versions?.node === "string";
  return isNode ? nodeSpawner : webSpawner;
}

export interface PoolOptions {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** The calling thread's instance of the module. */
  exports: WebAssembly.Exports;
  /** Total threads including the caller (1 = no workers). */
  threads: number;
  fns: readonly string[];
  /** Byte address of thread t's scratch. */
  scratchOf: (t: number) => number;
  /** Byte address of the job's i32 item counter (zeroed before each job). */
  counter: number;
  /**
   * Milliseconds idle workers keep polling before sleeping: a sleeping worker takes ~0.1-0.2 ms
   * to wake on a VM, more than a small matmul; polling keeps the cores busy between ops.
   */
  spinMs?: number;
  spawner?: WorkerSpawner;
}

export class KernelPool {
  readonly threads: number;
  private readonly ctl: Int32Array;
  private readonly args: Float64Array;
  private readonly fns: ((...a: number[]) => unknown)[];
  private workers: WorkerHandle[] = [];
  private disposed = false;

  private constructor(
    private readonly opts: PoolOptions,
    ctlBuffer: SharedArrayBuffer,
    argBuffer: SharedArrayBuffer,
  ) {
    this.threads = opts.threads;
    this.ctl = new Int32Array(ctlBuffer);
    this.args = new Float64Array(argBuffer);
    this.fns = opts.fns.map((name) => {
      const f = opts.exports[name];
      if (typeof f !== "function")
        throw new BackendError(`wasm kernels lack export "${name}": rebuild assets`);
      return f as (...a: number[]) => unknown;
    });
  }

  static async create(opts: PoolOptions): Promise<KernelPool> {
    const ctlBuffer = new SharedArrayBuffer(64);
    const argBuffer = new SharedArrayBuffer(MAX_ARGS * 8);
    const pool = new KernelPool(opts, ctlBuffer, argBuffer);
    const spawn = opts.spawner ?? defaultSpawner();
    const workers = opts.threads - 1;
    pool.workers = await Promise.all(
      Array.from({ length: workers }, (_, i) =>
        spawn({
          module: opts.module,
          memory: opts.memory,
          ctlBuffer,
          argBuffer,
          scratch: opts.scratchOf(i + 1),
          spinMs: opts.spinMs ?? DEFAULT_SPIN_MS,
          fns: opts.fns,
        }),
      ),
    );
    return pool;
  }

  /**
   * Runs export `fn` on `parallel` threads (the caller plus parallel - 1 workers; the other
   * workers see the job, find no items left, and report done). Each thread calls
   * fn(...args, itsScratch). Throws if any thread trapped.
   */
  run(fn: number, args: readonly number[], parallel: boolean): void {
    if (this.disposed) throw new BackendError("wasm kernels were disposed");
    if (args.length > MAX_ARGS) throw new BackendError(`too many kernel arguments (${args.length})`);
    Atomics.store(new Int32Array(this.opts.memory.buffer, this.opts.counter, 1), 0, 0);
    const f = this.fns[fn]!;
    const own = [...args, this.opts.scratchOf(0)];
    const n = this.workers.length;
    if (!parallel || n === 0) {
      f(...own);
      return;
    }
    const ctl = this.ctl;
    this.args.set(args);
    Atomics.store(ctl, CTL_FN, fn);
    Atomics.store(ctl, CTL_NARGS, args.length);
    Atomics.store(ctl, CTL_DONE, 0);
    Atomics.store(ctl, CTL_ERROR, 0);
    Atomics.store(ctl, CTL_JOIN, 0);
    Atomics.add(ctl, CTL_GEN, 1);
    Atomics.notify(ctl, CTL_GEN);
    let err: unknown;
    try {
      f(...own);
    } catch (e) {
      err = e;
    }
    // Every item is taken. Wait only for the workers that joined: one the OS has not scheduled
    // yet (a busy machine) finds the job closed and skips it instead of stalling this call.
    const joined = Atomics.or(ctl, CTL_JOIN, CLOSED) & ~CLOSED;
    let done = Atomics.load(ctl, CTL_DONE);
    for (let i = 0; done !== joined && i < MAIN_SPINS; i++) done = Atomics.load(ctl, CTL_DONE);
    while (done !== joined) {
      Atomics.wait(ctl, CTL_DONE, done);
      done = Atomics.load(ctl, CTL_DONE);
    }
    if (err !== undefined) throw err;
    if (Atomics.load(ctl, CTL_ERROR) !== 0) {
      throw new BackendError(`a wasm kernel worker trapped in ${this.opts.fns[fn]}: check operand offsets`);
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    Atomics.store(this.ctl, CTL_STOP, 1);
    Atomics.add(this.ctl, CTL_GEN, 1);
    Atomics.notify(this.ctl, CTL_GEN);
    for (const w of this.workers) w.terminate();
    this.workers = [];
  }
}
