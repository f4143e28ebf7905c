import cliProgress from "cli-progress";
import type { EpochMetrics, StepReport } from "../lab/train/loop.js";
import type { IO } from "./io.js";

/**
 * Progress for long work: a live bar on a terminal, one line per epoch elsewhere (CI logs,
 * pipes), so that logs stay readable.
 */
export function trainingBar(io: IO, label: string, epochs: number) {
  const tty = process.stderr.isTTY === true;
  const bar = tty
    ? new cliProgress.SingleBar(
        {
          format: `${label} epoch {epoch}/${epochs} [{bar}] {value}/{total} | loss {loss} | acc {acc} | {ips} img/s`,
          stream: process.stderr,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  let started = -1;
  return {
    step(r: StepReport) {
      if (!bar) return;
      if (started !== r.epoch) {
        if (started >= 0) bar.stop();
        bar.start(r.batches, 0, { epoch: r.epoch + 1, loss: "-", acc: "-", ips: "-" });
        started = r.epoch;
      }
      bar.update(r.batch, {
        loss: r.loss.toFixed(4),
        acc: r.accuracy.toFixed(3),
        ips: r.imagesPerSec.toFixed(0),
      });
    },
    epoch(m: EpochMetrics) {
      if (bar) {
        bar.stop();
        started = -1;
      }
      const val =
        m.valAccuracy !== undefined
          ? `, val loss ${m.valLoss!.toFixed(4)}, val acc ${m.valAccuracy.toFixed(4)}`
          : "";
      io.err(
        `${label} epoch ${m.epoch}/${epochs}: loss ${m.loss.toFixed(4)}, acc ${m.accuracy.toFixed(4)}${val}, lr ${m.lr.toPrecision(3)}, ${m.imagesPerSec.toFixed(1)} img/s, ${m.seconds.toFixed(1)} s`,
      );
    },
    stop() {
      bar?.stop();
    },
  };
}

/** A bar across the variants of a sweep; a line per variant where there is no terminal. */
export function variantBar(io: IO, total: number) {
  const tty = process.stderr.isTTY === true;
  const bar = tty
    ? new cliProgress.SingleBar(
        {
          format: "sweep [{bar}] {value}/{total} {variant}",
          stream: process.stderr,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  bar?.start(total, 0, { variant: "" });
  let n = 0;
  return {
    tick(variant: string, cached: boolean) {
      n++;
      if (bar) bar.update(n, { variant });
      else io.err(`[${n}/${total}] ${variant}${cached ? " (already in results.jsonl)" : ""}`);
    },
    stop() {
      bar?.stop();
    },
  };
}
