/**
 * Start-up of the CLI against Node itself, measured side by side: each round runs `node -e 0`,
 * `archc --version` and `archc check specs/xception.arch` once, in that order, so that load on
 * the machine falls on all three alike. Reports the median wall-clock and, where the system
 * says it (Linux), the mean CPU time (user + system) of each, with the ratios to `node -e 0`:
 * on a shared machine the CPU time is the steadier figure, since waiting for a core is not in it.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { packageRoot } from "../compiler/language/paths.js";
import { median } from "./timing.js";

const bin = join(packageRoot, "bin/archc.cjs");
const commands: readonly (readonly [string, readonly string[]])[] = [
  ["node -e 0", ["-e", "0"]],
  ["archc --version", [bin, "--version"]],
  ["archc check specs/xception.arch", [bin, "check", join(packageRoot, "specs/xception.arch")]],
];

/**
 * CPU ms of this process's finished children (cutime + cstime of /proc/self/stat, in the fixed
 * 1/100 s ticks of Linux's user ABI), or undefined where there is no /proc. Per run it moves in
 * 10 ms steps, so the bench reports the mean over the rounds.
 */
function childrenCpuMs(): number | undefined {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[13]) + Number(fields[14])) * 10;
  } catch {
    return undefined;
  }
}

function timeOnce(args: readonly string[]): { wall: number; cpu: number | undefined } {
  const cpu0 = childrenCpuMs();
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: "ignore" });
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`node ${args.join(" ")} exited ${r.status}`);
  const cpu1 = childrenCpuMs();
  return { wall, cpu: cpu0 === undefined || cpu1 === undefined ? undefined : cpu1 - cpu0 };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export function runStartupBench(rounds = Number(process.env["ROUNDS"] ?? 21)): void {
  const wall = commands.map(() => [] as number[]);
  const cpu = commands.map(() => [] as number[]);
  const load = loadavg().map((l) => l.toFixed(2));
  for (let r = 0; r < rounds; r++)
    commands.forEach(([, args], i) => {
      const t = timeOnce(args);
      wall[i]!.push(t.wall);
      if (t.cpu !== undefined) cpu[i]!.push(t.cpu);
    });
  const withCpu = cpu.every((c) => c.length === rounds);
  const baseWall = median(wall[0]!);
  const baseCpu = withCpu ? mean(cpu[0]!) : NaN;
  console.log(
    `load average ${load.join(", ")} before, ${loadavg()
      .map((l) => l.toFixed(2))
      .join(", ")} after`,
  );
  console.log(
    `| command | median wall ms (${rounds} rounds) | ratio to node -e 0 |${withCpu ? " mean CPU ms | CPU ratio |" : ""}`,
  );
  console.log(`| --- | ---: | ---: |${withCpu ? " ---: | ---: |" : ""}`);
  commands.forEach(([name], i) => {
    const m = median(wall[i]!);
    const c = withCpu
      ? ` ${mean(cpu[i]!).toFixed(0)} | ${(mean(cpu[i]!) / baseCpu).toFixed(2)} |`
      : "";
    console.log(`| ${name} | ${m.toFixed(0)} | ${(m / baseWall).toFixed(2)} |${c}`);
  });
}
