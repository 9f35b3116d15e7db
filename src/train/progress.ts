// Terminal progress for long jobs: a live bar (step, loss, tokens/s, ETA) on a TTY, and plain
// periodic lines otherwise (CI logs, pipes). Display only: never affects what is computed.
import cliProgress from "cli-progress";

export interface ProgressFields {
  loss: number;
  tokensPerSecond: number;
  lr: number;
}

export interface Progress {
  update(step: number, f: ProgressFields): void;
  log(line: string): void;
  stop(): void;
}

function fmtRate(x: number): string {
  return x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : x.toFixed(0);
}

export function createProgress(
  label: string,
  total: number,
  opts: { tty?: boolean; every?: number } = {},
): Progress {
  const tty = opts.tty ?? Boolean(process.stderr.isTTY);
  if (!tty) {
    const every = opts.every ?? Math.max(1, Math.round(total / 20));
    return {
      update(step, f) {
        if (step % every === 0 || step === total) {
          process.stderr.write(
            `${label} step ${step}/${total} loss ${f.loss.toFixed(4)} ${fmtRate(f.tokensPerSecond)} tok/s lr ${f.lr.toExponential(2)}\n`,
          );
        }
      },
      log: (line) => process.stderr.write(`${line}\n`),
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {value}/{total} | loss {loss} | {rate} tok/s | lr {lr} | ETA {eta_formatted}`,
      hideCursor: true,
      stream: process.stderr,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { loss: "-", rate: "-", lr: "-" });
  return {
    update(step, f) {
      bar.update(step, {
        loss: f.loss.toFixed(4),
        rate: fmtRate(f.tokensPerSecond),
        lr: f.lr.toExponential(2),
      });
    },
    log(line) {
      bar.stop();
      process.stderr.write(`${line}\n`);
      bar.start(total, bar.getProgress() * total, {});
    },
    stop: () => bar.stop(),
  };
}
