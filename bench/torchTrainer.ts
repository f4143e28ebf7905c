/**
 * PyTorch's side of `bench -- train`: bench/train_torch.py kept running for a whole case, asked
 * for N steps at a time, so its rounds alternate with archc's without torch's import and
 * first-step set-up in every round (the old one-process-per-round runner timed a cold step
 * each round where warm-up was off: Xception's 12.6 s then 4.96 s).
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { packageRoot } from "../compiler/language/paths.js";
import type { Timed } from "./timing.js";

export const PYTHON = "/usr/bin/python3";

/** Why PyTorch cannot be measured here, or undefined when it can. */
export function torchMissing(): string | undefined {
  if (!existsSync(PYTHON)) return `${PYTHON} is missing`;
  const r = spawnSync(PYTHON, ["-c", "import torch"], { encoding: "utf8" });
  return r.status === 0 ? undefined : "python3-torch is not installed";
}

export interface TorchModel {
  /** The module `archc compile --target torch` wrote, and its class. */
  readonly file: string;
  readonly className: string;
  /** Input height, width, channels; classes; batch. */
  readonly input: readonly [number, number, number];
  readonly classes: number;
  readonly batch: number;
  readonly threads: number;
}

export class TorchTrainer {
  private readonly lines: AsyncIterator<string>;
  private stderr: string[] = [];
  version = "";

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    this.lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (s: string) => {
      this.stderr.push(...s.split("\n").filter((l) => l.trim()));
      this.stderr = this.stderr.slice(-20);
    });
  }

  static async start(m: TorchModel): Promise<TorchTrainer> {
    const [h, w, c] = m.input;
    const child = spawn(
      PYTHON,
      [
        join(packageRoot, "bench", "train_torch.py"),
        m.file,
        m.className,
        ...[h, w, c, m.classes, m.batch, m.threads].map(String),
      ],
      { stdio: ["pipe", "pipe", "pipe"] },
    );
    const t = new TorchTrainer(child);
    const hello = (await t.answer()) as { torch: string };
    t.version = hello.torch;
    return t;
  }

  /** The next JSON line, or an error that quotes the end of PyTorch's stderr. */
  private async answer(): Promise<unknown> {
    const next = await this.lines.next();
    if (next.done) {
      await new Promise((resolve) =>
        this.child.exitCode !== null || this.child.signalCode !== null
          ? resolve(undefined)
          : this.child.once("close", resolve),
      );
      const why = this.stderr[this.stderr.length - 1] ?? "no message";
      throw new Error(
        `PyTorch ended (${this.child.exitCode ?? this.child.signalCode ?? "?"}): ${why}`,
      );
    }
    return JSON.parse(next.value) as unknown;
  }

  /** Runs `n` training steps; each one's wall-clock and CPU milliseconds. */
  async steps(n: number): Promise<Timed[]> {
    if (n <= 0) return [];
    this.child.stdin.write(`${n}\n`);
    const r = (await this.answer()) as { ms: number[]; cpu_ms: number[] };
    return r.ms.map((ms, i) => ({ ms, cpuMs: r.cpu_ms[i]! }));
  }

  close(): void {
    this.child.stdin.end();
    if (this.child.exitCode === null) this.child.kill("SIGTERM");
  }
}
