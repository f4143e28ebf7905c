/**
 * Start-up of the CLI against Node itself, measured side by side: each round runs `node -e 0`,
 * `archc --version` and `archc check specs/xception.arch` once, in that order, so that load on
 * the machine falls on all three alike. Reports medians and the ratios to `node -e 0`.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { packageRoot } from "../compiler/language/paths.js";

const bin = join(packageRoot, "bin/archc.js");
const commands: readonly (readonly [string, readonly string[]])[] = [
  ["node -e 0", ["-e", "0"]],
  ["archc --version", [bin, "--version"]],
  ["archc check specs/xception.arch", [bin, "check", join(packageRoot, "specs/xception.arch")]],
];

function timeOnce(args: readonly string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: "ignore" });
  if (r.status !== 0) throw new Error(`node ${args.join(" ")} exited ${r.status}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export function runStartupBench(rounds = Number(process.env["ROUNDS"] ?? 21)): void {
  const times = commands.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++)
    commands.forEach(([, args], i) => times[i]!.push(timeOnce(args)));
  const base = median(times[0]!);
  console.log(`| command | median ms (${rounds} rounds) | ratio to node -e 0 |`);
  console.log("| --- | ---: | ---: |");
  commands.forEach(([name], i) => {
    const m = median(times[i]!);
    console.log(`| ${name} | ${m.toFixed(0)} | ${(m / base).toFixed(2)} |`);
  });
}
