// The sweep runner: runs a SweepSpec's grid or LR searches one run after another, each in
// `<out>/runs/<config>__lr<lr>__s<seed>/`, and appends one record per finished run to
// `<out>/results.jsonl`. Resumable: a run with result.json is never repeated (its record is
// reused, or rebuilt from result.json); a started one resumes from its checkpoint. The training
// function can be injected (tests use fakes); the runner does no model math.
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Backend } from "../backend/backend.js";
import { ConfigError, FormatError } from "../errors.js";
import { kvBytesPerToken16 } from "../model/accounting.js";
import { writeFileAtomic } from "../io/atomic-file.js";
import { trainRun } from "../train/trainer.js";
import type { TrainOptions, TrainResult, TrainRunSpec } from "../train/types.js";
import { formatLr, type LrSearchResult, searchLr } from "./lr-search.js";
import { runDir, runName } from "./plan.js";
import { appendResult, loadResults, RESULT_FORMAT, type ResultRecord } from "./results.js";
import type { SweepConfig, SweepSpec } from "./spec.js";
import { pickBestLr } from "./summary.js";

export type TrainFn = (spec: TrainRunSpec) => Promise<TrainResult>;

export interface RunSweepOptions {
  /** Sweep folder: runs/, results.jsonl, sweep.json. */
  outDir: string;
  /** The training function (default: the trainer's `trainRun`; tests inject fakes). */
  train?: TrainFn;
  /** Creates the backend; called once, only when some run actually needs training. */
  backend: () => Promise<Backend>;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
  /** Passed to the trainer: no live progress bar. */
  quiet?: boolean;
  /** Stops the sweep: the run in flight checkpoints and stops (resumable); no new run starts. */
  signal?: AbortSignal;
  /**
   * Wall-clock budget of this call in seconds: a run is not started when the time spent so far plus
   * the longest run trained in this call would exceed it (the sweep stops, resumable). The first
   * run always starts. Lets a time-limited machine end with whole runs instead of a cut-off one.
   */
  timeBudgetSeconds?: number;
  /** Clock in seconds (tests inject one; default: performance.now()). */
  now?: () => number;
}

export interface ConfigOutcome {
  config: string;
  bestLr: number;
  /** Present for an LR search: every LR tried on the first seed. */
  search?: LrSearchResult;
  records: ResultRecord[];
}

export interface SweepOutcome {
  resultsPath: string;
  configs: ConfigOutcome[];
  /** Runs trained (fresh or resumed) in this call. */
  trained: number;
  /** Finished runs found on disk and not repeated. */
  reused: number;
  /** True when `signal` stopped the sweep; `configs` then holds only the configs completed. */
  interrupted: boolean;
}

/** Thrown inside the runner when the signal stops it; runSweep turns it into `interrupted`. */
class SweepInterrupted extends Error {}

/** What a run folder was started with; a resumed run must match it. */
interface RunIntent {
  sweep: string;
  run: string;
  config: SweepConfig["config"];
  options: TrainOptions;
}

function changedFields(a: Record<string, unknown>, b: Record<string, unknown>, prefix: string): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys]
    .filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]))
    .map((k) => `${prefix}${k} (${JSON.stringify(a[k])} -> ${JSON.stringify(b[k])})`);
}

function asRecord(x: unknown): Record<string, unknown> {
  return typeof x === "object" && x !== null ? (x as Record<string, unknown>) : {};
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new FormatError(`cannot read ${path} (${(e as Error).message}): delete the run folder to rerun it`);
  }
}

class SweepRunner {
  private readonly byRun = new Map<string, ResultRecord>();
  private readonly resultsPath: string;
  private readonly log: (line: string) => void;
  private backend?: Backend;
  private readonly started = new Date().toISOString();
  private readonly now: () => number;
  private readonly t0: number;
  /** Longest wall time of a run trained in this call, seconds. */
  private longestRun = 0;
  trained = 0;
  reused = 0;

  constructor(
    private readonly spec: SweepSpec,
    private readonly opts: RunSweepOptions,
  ) {
    this.resultsPath = join(opts.outDir, "results.jsonl");
    this.log = opts.log ?? ((l) => process.stderr.write(`${l}\n`));
    this.now = opts.now ?? (() => performance.now() / 1000);
    this.t0 = this.now();
    if (existsSync(this.resultsPath)) {
      for (const r of loadResults(this.resultsPath)) this.byRun.set(r.run, r);
    }
  }

  /** Trains (or reuses) one run and returns its record. */
  async run(cfg: SweepConfig, lr: number, seed: number): Promise<ResultRecord> {
    const name = runName(cfg.name, lr, seed);
    const dir = runDir(this.opts.outDir, cfg.name, lr, seed);
    const resultPath = join(dir, "result.json");
    const intentPath = join(dir, "sweep-run.json");
    const options: TrainOptions = { ...this.spec.train, lr, seed };
    if (existsSync(resultPath)) {
      this.reused++;
      const known = this.byRun.get(name);
      if (known) {
        this.log(`${name}: finished before (val ppl ${known.finalValPpl.toFixed(3)})`);
        return known;
      }
      const result = readJson(resultPath) as TrainResult;
      const startedAt = existsSync(intentPath)
        ? String((readJson(intentPath) as { startedAt?: string }).startedAt ?? "")
        : "";
      const finishedAt = statSync(resultPath).mtime.toISOString();
      this.log(`${name}: finished before, recording its result.json`);
      return this.record(cfg, options, result, { startedAt: startedAt || finishedAt, finishedAt, dir });
    }
    // let pending signal handlers run: a CPU-bound run may never yield to the event loop itself,
    // and a signal is only dispatched from a poll phase that waits (a timer; setImmediate is not enough)
    await new Promise((r) => setTimeout(r, 1));
    if (this.opts.signal?.aborted) throw new SweepInterrupted();
    this.checkTimeBudget(name);
    const intent: RunIntent = { sweep: this.spec.name, run: name, config: cfg.config, options };
    const resume = existsSync(intentPath);
    if (resume) {
      const prev = readJson(intentPath) as RunIntent;
      const diff = [
        ...changedFields(asRecord(prev.config), asRecord(intent.config), "config."),
        ...changedFields(asRecord(prev.options), asRecord(intent.options), "train."),
      ];
      if (diff.length) {
        throw new ConfigError(
          `run ${name} was started with other settings: ${diff.join(", ")}; ` +
            `use another --out, or delete ${dir} to restart it`,
        );
      }
    } else {
      writeFileAtomic(
        intentPath,
        `${JSON.stringify({ ...intent, startedAt: new Date().toISOString() }, null, 2)}\n`,
      );
    }
    const startedAt = new Date().toISOString();
    this.backend ??= await this.opts.backend();
    const fromCheckpoint = resume && existsSync(join(dir, "checkpoints"));
    this.log(`${name}: ${fromCheckpoint ? "resuming from its checkpoint" : "training"}`);
    const train = this.opts.train ?? trainRun;
    const t = this.now();
    const result = await train({
      backend: this.backend,
      config: cfg.config,
      dataDir: this.spec.dataDir,
      outDir: dir,
      options,
      resume,
      label: `${cfg.name} lr ${formatLr(lr)} s${seed}`,
      quiet: this.opts.quiet ?? false,
      ...(this.opts.signal ? { signal: this.opts.signal } : {}),
    });
    this.longestRun = Math.max(this.longestRun, this.now() - t);
    if (result.interrupted) {
      this.log(`${name}: stopped at step ${result.steps}; run the sweep again to resume it`);
      throw new SweepInterrupted();
    }
    this.trained++;
    this.log(
      `${name}: val ppl ${result.finalValPpl.toFixed(3)}, ${Math.round(result.tokensPerSecond)} tokens/s, ` +
        `${result.seconds.toFixed(1)} s`,
    );
    return this.record(cfg, options, result, { startedAt, finishedAt: new Date().toISOString(), dir });
  }

  /** Stops the sweep before `name` when the time budget cannot hold another run like the longest. */
  private checkTimeBudget(name: string): void {
    const budget = this.opts.timeBudgetSeconds;
    if (budget === undefined || this.trained === 0) return;
    const spent = this.now() - this.t0;
    if (spent + this.longestRun <= budget) return;
    this.log(
      `time budget: ${Math.round(spent)} s spent + ${Math.round(this.longestRun)} s for the longest run ` +
        `> ${Math.round(budget)} s; ${name} not started`,
    );
    throw new SweepInterrupted();
  }

  private record(
    cfg: SweepConfig,
    options: TrainOptions,
    r: TrainResult,
    at: { startedAt: string; finishedAt: string; dir: string },
  ): ResultRecord {
    const rec: ResultRecord = {
      format: RESULT_FORMAT,
      sweep: this.spec.name,
      run: runName(cfg.name, options.lr, options.seed),
      config: cfg.name,
      modelConfig: cfg.config,
      params: r.params,
      kvBytesPerToken16: kvBytesPerToken16(cfg.config),
      lr: options.lr,
      seed: options.seed,
      steps: r.steps,
      tokens: r.tokens,
      finalTrainLoss: r.finalTrainLoss,
      finalValLoss: r.finalValLoss,
      finalValPpl: r.finalValPpl,
      tokensPerSecond: r.tokensPerSecond,
      seconds: r.seconds,
      backend: r.backend,
      device: r.device,
      tensorCores: r.tensorCores,
      startedAt: at.startedAt,
      finishedAt: at.finishedAt,
      outDir: at.dir,
    };
    appendResult(this.resultsPath, rec);
    this.byRun.set(rec.run, rec);
    return rec;
  }

  async runConfig(cfg: SweepConfig): Promise<ConfigOutcome> {
    const { lr: plan, seeds } = this.spec;
    const records: ResultRecord[] = [];
    if (plan.kind === "grid") {
      for (const lr of plan.lrs) for (const seed of seeds) records.push(await this.run(cfg, lr, seed));
      return { config: cfg.name, bestLr: pickBestLr(records)!, records };
    }
    const first = seeds[0]!;
    const search = await searchLr(plan, async (lr) => {
      const rec = await this.run(cfg, lr, first);
      records.push(rec);
      return rec.finalValPpl;
    });
    this.log(
      `${cfg.name}: best LR ${formatLr(search.best)} (val ppl ${search.bestPpl.toFixed(3)} on seed ${first})`,
    );
    for (const seed of seeds.slice(1)) records.push(await this.run(cfg, search.best, seed));
    return { config: cfg.name, bestLr: search.best, search, records };
  }

  async runAll(): Promise<SweepOutcome> {
    writeFileAtomic(
      join(this.opts.outDir, "sweep.json"),
      `${JSON.stringify({ ...this.spec, startedAt: this.started }, null, 2)}\n`,
    );
    const configs: ConfigOutcome[] = [];
    let interrupted = false;
    try {
      for (const cfg of this.spec.configs) configs.push(await this.runConfig(cfg));
    } catch (e) {
      if (!(e instanceof SweepInterrupted)) throw e;
      interrupted = true;
    }
    return {
      resultsPath: this.resultsPath,
      configs,
      trained: this.trained,
      reused: this.reused,
      interrupted,
    };
  }
}

/** Runs every config of `spec` in order (see the file header for resumability). */
export async function runSweep(spec: SweepSpec, opts: RunSweepOptions): Promise<SweepOutcome> {
  return new SweepRunner(spec, opts).runAll();
}
