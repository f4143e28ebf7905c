import { integerFlag } from "../../util/integerFlag.js";
import type { TorchOptions } from "./engine.js";

/** The torch engine's command-line options, as commander hands them over (text). */
export interface TorchCliOptions {
  readonly engine?: string;
  readonly python?: string;
  readonly nproc?: string;
  readonly nnodes?: string;
  readonly nodeRank?: string;
  readonly rdzvEndpoint?: string;
  readonly samplesLog?: boolean;
  readonly threads?: string;
  // The embedded trainer's own options, which the torch engine does not take.
  readonly patience?: string;
  readonly checkpointSteps?: string;
  readonly checkpointMinutes?: string;
  readonly strategy?: string;
}

/**
 * Checks the torch engine's options: the engine's options (or undefined for the embedded
 * trainer), or a message saying which option is wrong and what it takes.
 */
export function torchOptions(o: TorchCliOptions): TorchOptions | undefined | string {
  const engine = o.engine ?? "tfjs";
  // --threads is also the embedded trainer's (the wasm backend's threads).
  const given = ["python", "nproc", "nnodes", "nodeRank", "rdzvEndpoint", "samplesLog"].filter(
    (k) => o[k as keyof TorchCliOptions] !== undefined,
  );
  if (engine !== "torch") {
    if (given.length)
      return `--${given[0]!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} is an option of --engine torch`;
    return undefined;
  }
  // The runner checkpoints at each epoch and on a stop, and has no early stopping or grouped
  // strategies: saying so beats ignoring what the user asked for.
  // (The two checkpoint flags have defaults, "0" steps and "5" minutes: only others count.)
  const embeddedOnly = [
    o.patience !== undefined && "patience",
    o.strategy !== undefined && "strategy",
    (o.checkpointSteps ?? "0") !== "0" && "checkpointSteps",
    (o.checkpointMinutes ?? "5") !== "5" && "checkpointMinutes",
  ].filter((k): k is string => typeof k === "string");
  if (embeddedOnly.length)
    return `--${embeddedOnly[0]!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} is an option of the embedded trainer, not of --engine torch`;
  const int = (
    name: string,
    text: string | undefined,
    min: number,
  ): number | string | undefined => {
    if (text === undefined) return undefined;
    const n = integerFlag(name, text, min);
    return typeof n === "number" ? n : n.error;
  };
  const nproc = int("nproc", o.nproc, 1);
  const nnodes = int("nnodes", o.nnodes, 1);
  const nodeRank = int("node-rank", o.nodeRank, 0);
  const threads = int("threads", o.threads, 1);
  for (const v of [nproc, nnodes, nodeRank, threads]) if (typeof v === "string") return v;
  if (typeof nnodes === "number" && nnodes > 1 && !o.rdzvEndpoint)
    return "--nnodes above 1 needs --rdzv-endpoint HOST:PORT (node 0's address, the same on every node)";
  if (o.rdzvEndpoint !== undefined && !/^[^:\s]+:\d+$/.test(o.rdzvEndpoint))
    return `--rdzv-endpoint takes HOST:PORT, not '${o.rdzvEndpoint}'`;
  if (typeof nodeRank === "number" && nodeRank >= ((nnodes as number | undefined) ?? 1))
    return `--node-rank must be below --nnodes (${(nnodes as number | undefined) ?? 1})`;
  return {
    ...(o.python ? { python: o.python } : {}),
    ...(typeof nproc === "number" ? { nproc } : {}),
    ...(typeof nnodes === "number" ? { nnodes } : {}),
    ...(typeof nodeRank === "number" ? { nodeRank } : {}),
    ...(o.rdzvEndpoint ? { rdzvEndpoint: o.rdzvEndpoint } : {}),
    ...(typeof threads === "number" ? { threads } : {}),
    ...(o.samplesLog ? { samplesLog: true } : {}),
  };
}
