import cliProgress from "cli-progress";
import type { EpochMetrics, StepReport } from "../lab/train/loop.js";
import type { IO } from "./io.js";

/** Seconds between plain progress lines where there is no terminal (CI logs, pipes). */
const plainEverySeconds = 5;

/** `1:02:03`, `4:05`, or `?` while there is nothing to go on. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

/**
 * Time left from the steps this process has timed (steps resumed from a checkpoint are not).
 * Undefined until a few steps have run.
 */
export class Eta {
  private first?: { at: number; step: number };
  private last?: { at: number; step: number };
  constructor(private readonly now: () => number = () => performance.now()) {}
  update(step: number, total: number): number | undefined {
    const t = this.now();
    if (!this.first) this.first = { at: t, step };
    this.last = { at: t, step };
    const per = this.secondsPerStep();
    return per === undefined ? undefined : per * (total - step);
  }
  /** Seconds a step has taken, on average, since the first one reported. */
  secondsPerStep(): number | undefined {
    if (!this.first || !this.last) return undefined;
    const done = this.last.step - this.first.step;
    if (done < 2) return undefined;
    return (this.last.at - this.first.at) / done / 1000;
  }
}

/** A stream the bars draw on: standard error, or a test's stand-in. */
type BarStream = NodeJS.WritableStream & { isTTY?: boolean };

/**
 * Progress of a training run: a live bar with the time left in the epoch and in the run on a
 * terminal; elsewhere one plain line every few seconds and one per epoch, so that logs show the
 * run is alive. After halt() (Ctrl-C) nothing more is drawn, so the stop message stays last.
 */
export function trainingBar(
  io: IO,
  label: string,
  epochs: number,
  tty = process.stderr.isTTY,
  stream: BarStream = process.stderr,
) {
  const bar = tty
    ? new cliProgress.SingleBar(
        {
          format: `${label} epoch {epoch}/${epochs} [{bar}] {value}/{total} | loss {loss} | acc {acc} | {ips} img/s | ETA epoch {epochLeft}, run {runLeft}`,
          stream: stream as NodeJS.WriteStream,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  let started = -1;
  let halted = false;
  const eta = new Eta();
  let lastLine = performance.now();
  return {
    step(r: StepReport) {
      if (halted) return;
      const runLeft = formatDuration(eta.update(r.step, r.batches * r.epochs) ?? NaN);
      const epochLeft = formatDuration((eta.secondsPerStep() ?? NaN) * (r.batches - r.batch));
      if (!bar) {
        if (performance.now() - lastLine < plainEverySeconds * 1000) return;
        lastLine = performance.now();
        io.err(
          `${label} epoch ${r.epoch + 1}/${epochs} batch ${r.batch}/${r.batches}: loss ${r.loss.toFixed(4)}, acc ${r.accuracy.toFixed(4)}, ${r.imagesPerSec.toFixed(0)} img/s, ETA epoch ${epochLeft}, run ${runLeft}`,
        );
        return;
      }
      if (started !== r.epoch) {
        if (started >= 0) bar.stop();
        bar.start(r.batches, 0, {
          epoch: r.epoch + 1,
          loss: "-",
          acc: "-",
          ips: "-",
          epochLeft: "?",
          runLeft: "?",
        });
        started = r.epoch;
      }
      bar.update(r.batch, {
        loss: r.loss.toFixed(4),
        acc: r.accuracy.toFixed(3),
        ips: r.imagesPerSec.toFixed(0),
        epochLeft,
        runLeft,
      });
    },
    epoch(m: EpochMetrics) {
      if (halted) return;
      if (bar) {
        bar.stop();
        started = -1;
      }
      lastLine = performance.now();
      const val =
        m.valAccuracy !== undefined
          ? `, val loss ${m.valLoss!.toFixed(4)}, val acc ${m.valAccuracy.toFixed(4)}`
          : "";
      const wait =
        m.dataWaitSeconds !== undefined
          ? ` (${m.dataWaitSeconds.toFixed(1)} s of it waiting for data)`
          : "";
      io.err(
        `${label} epoch ${m.epoch}/${epochs}: train loss ${m.loss.toFixed(4)}, train acc ${m.accuracy.toFixed(4)}${val}, lr ${m.lr.toPrecision(3)}, ${m.imagesPerSec.toFixed(1)} img/s, ${m.seconds.toFixed(1)} s${wait}`,
      );
    },
    /** Ctrl-C: the bar is closed now and nothing is drawn after, whatever steps still report. */
    halt() {
      if (!halted) bar?.stop();
      halted = true;
    },
    stop() {
      if (!halted) bar?.stop();
    },
  };
}

/**
 * Time left in a sweep from the rows measured here: rows found in results.jsonl take no time and
 * would make the rest look nearly done (cli-progress' own ETA counted them).
 */
export class RowEta {
  private measured = 0;
  private seconds = 0;
  private since: number;
  constructor(private readonly now: () => number = () => performance.now()) {
    this.since = now();
  }
  /** A row is done: the time since the previous one counts only when it was measured. */
  row(cached: boolean): void {
    const t = this.now();
    if (!cached) {
      this.measured++;
      this.seconds += (t - this.since) / 1000;
    }
    this.since = t;
  }
  /** Seconds for `rows` more rows; undefined before any row was measured. */
  left(rows: number): number | undefined {
    return this.measured ? (this.seconds / this.measured) * rows : undefined;
  }
}

/**
 * A bar across the variants of a sweep, with an ETA; a line per variant where there is no
 * terminal, and (through `step`) a plain line every few seconds while a variant trains.
 */
export function variantBar(
  io: IO,
  total: number,
  tty = process.stderr.isTTY,
  stream: BarStream = process.stderr,
  /** What the bar counts, and the file a cached row comes from. */
  names: { readonly task: string; readonly cache: string } = {
    task: "sweep",
    cache: "results.jsonl",
  },
) {
  const bar = tty
    ? new cliProgress.SingleBar(
        {
          format: `${names.task} [{bar}] {value}/{total} | ETA {left} | {variant}`,
          stream: stream as NodeJS.WriteStream,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  bar?.start(total, 0, { variant: "", left: "?" });
  let n = 0;
  let lastLine = performance.now();
  const eta = new RowEta();
  let halted = false;
  const left = () => formatDuration(eta.left(total - n) ?? NaN);
  return {
    tick(variant: string, cached: boolean) {
      n++;
      eta.row(cached);
      lastLine = performance.now();
      if (halted) return;
      if (bar) bar.update(n, { variant, left: left() });
      else {
        const eta = left() !== "?" ? ` (ETA ${left()})` : "";
        io.err(`[${n}/${total}] ${variant}${cached ? ` (cached in ${names.cache})` : eta}`);
      }
    },
    /** A training step of the variant in progress; only shown where there is no terminal. */
    step(variant: string, r: StepReport) {
      if (halted || bar || performance.now() - lastLine < plainEverySeconds * 1000) return;
      lastLine = performance.now();
      io.err(
        `[${n + 1}/${total}] ${variant}: epoch ${r.epoch + 1}/${r.epochs} batch ${r.batch}/${r.batches}, loss ${r.loss.toFixed(4)}`,
      );
    },
    /** Ctrl-C: the bar is closed now and nothing is drawn after. */
    halt() {
      if (!halted) bar?.stop();
      halted = true;
    },
    stop() {
      if (!halted) bar?.stop();
    },
  };
}
