import { Option, type Command } from "commander";
import { backendChoices } from "../backends/tfjs/choices.js";
import { STRATEGY_NAMES } from "../backends/tfjs/grouped/names.js";
import { measures } from "../lab/experiment/measures.js";

/**
 * Every command-line option of archc, declared once (as TypeScript's `optionDeclarations`): its
 * flags, help, default and choices. Commands pick theirs by name with `option()`; a command may
 * only reword the help where the option means something narrower there.
 */
interface Declaration {
  readonly flags: string;
  readonly help: string;
  readonly default?: string;
  readonly choices?: readonly string[];
  /** Repeatable: the values collect into a list. */
  readonly list?: true;
  /** Takes one or more values at once (`--merge a b c`). */
  readonly variadic?: true;
}

const maxLayersHelp = "refuse a network of more than N layers (default 100000)";

export const optionTable = {
  json: { flags: "--json", help: "print as JSON" },
  csv: { flags: "--csv", help: "print the results as CSV" },
  quiet: { flags: "--quiet", help: "print only the results and errors" },
  maxLayers: { flags: "--max-layers <n>", help: maxLayersHelp },
  network: {
    flags: "-n, --network <name>",
    help: "network to build (default: the last in the file)",
  },
  set: {
    flags: "-s, --set <name=value>",
    help: "set a network argument; repeatable",
    list: true,
  },
  experiment: {
    flags: "-e, --experiment <name>",
    help: "run an experiment declaration's models",
  },
  config: { flags: "-c, --config <name>", help: "train config" },
  out: { flags: "-o, --out <path>", help: "write here instead of standard output" },
  weights: {
    flags: "--weights <dir>",
    help: "weights from a tfjs model.json folder or an archc train run folder",
  },
  backend: {
    flags: "--backend <name>",
    help: "tfjs backend",
    choices: backendChoices,
    default: "auto",
  },
  strategy: {
    flags: "--strategy <name>",
    help: "grouped-convolution strategy of every grouped layer (default auto: per layer, the fastest that fits in memory)",
    choices: ["auto", ...STRATEGY_NAMES],
  },
  inference: {
    flags: "--inference <path>",
    help: "run: how a forward pass is computed; program: the model's layers as fused tensor ops (batch norms folded into the convolutions, activations in the conv kernels); layers: tf.layers' model.predict",
    choices: ["program", "layers"],
    default: "program",
  },
  threads: {
    flags: "--threads <n>",
    help: "wasm backend: threads (default: every core, or $ARCHC_THREADS)",
  },
  engine: {
    flags: "--engine <name>",
    help: "tfjs: the embedded trainer; torch: PyTorch, through Python",
    choices: ["tfjs", "torch"],
    default: "tfjs",
  },
  python: {
    flags: "--python <path>",
    help: "torch: the interpreter (default: $ARCHC_PYTHON, else python3 on PATH with torch)",
  },
  data: {
    flags: "-d, --data <source>",
    help: "synthetic[:N], fashion-mnist, an IDX folder, an image folder or a pack (archc data pack) (default: the config's dataset)",
  },
  epochs: { flags: "--epochs <n>", help: "epochs (default: the config's)" },
  steps: {
    flags: "--steps <n>",
    help: "a budget in training steps instead of --epochs: the fewest whole epochs that make at least N steps at the batch",
  },
  batch: { flags: "-b, --batch <n>", help: "batch size (default: the config's)" },
  lr: { flags: "--lr <rate>", help: "initial learning rate (default: the config's)" },
  limit: { flags: "--limit <n>", help: "train on the first N examples" },
  valLimit: { flags: "--val-limit <n>", help: "validate on the first N examples" },
  valSplit: {
    flags: "--val-split <fraction>",
    help: "fraction of the training examples held out (seeded by --seed) to validate on, for IDX data such as fashion-mnist (0: none); the test set is only read by archc eval",
    default: "0.1",
  },
  bnMomentum: {
    flags: "--bn-momentum <m>",
    help: "momentum of every batch norm's moving averages (default: the config's bn_momentum, else each layer's; Keras' 0.99)",
  },
  preciseBn: {
    flags: "--precise-bn <mode>",
    help: "recompute batch-norm statistics on training images before each evaluation; auto: when the run is too short for its momentum",
    choices: ["auto", "on", "off"],
    default: "auto",
  },
  resize: {
    flags: "--resize",
    help: "resize images bilinearly to the network's input size where they differ",
  },
  repeatChannels: {
    flags: "--repeat-channels",
    help: "repeat gray images' channel to the network's 3 where it wants RGB",
  },
  seed: { flags: "--seed <n>", help: "seed for weights, shuffling and dropout", default: "0" },
  seeds: {
    flags: "--seeds <n>",
    help: "with --measure train: train each variant N times (seeds SEED..SEED+N-1); mean and spread",
  },
  fresh: { flags: "--fresh", help: "forget earlier results in the run folder" },
  runs: {
    flags: "--runs <n>",
    help: "timed forward passes per variant (median and spread reported)",
    default: "5",
  },
  measure: {
    flags: "-m, --measure <list>",
    help: `${measures.join(", ")} (comma-separated)`,
    default: "params,macs",
  },
  sweep: {
    flags: "--sweep <name=values>",
    help: "an axis, e.g. parts=1,2,4,depthwise or parts=all, a range 'width=16..64 step 16', or tied axes p1=p2=p3=1,4; repeatable (cross product)",
    list: true,
  },
  snap: {
    flags: "--snap",
    help: "move parts values that do not divide a layer to its nearest valid one, and record it",
  },
  plot: {
    flags: "--plot <file>",
    help: "plot each measure against the first axis, with error bars over seeds and accuracy against MACs and params (FILE.svg or FILE.png)",
  },
  shard: {
    flags: "--shard <i/n>",
    help: "measure only every n-th variant from the i-th (0 <= i < n): one job of an array",
  },
  merge: {
    flags: "--merge <dirs...>",
    help: "join the results of shard folders into one table (and --plot, --out)",
    variadic: true,
  },
  where: {
    flags: "--where <constraint>",
    help: "keep configurations that meet it, e.g. 'macs <= 20M' or 'params < 1.5M'; repeatable (all must hold)",
    list: true,
  },
  samples: {
    flags: "--samples <n>",
    help: "configurations to draw uniformly from the feasible set (default: all of them)",
  },
  sort: {
    flags: "--sort <column>",
    help: "order the table by a column id or heading, largest first",
  },
  ascending: { flags: "--ascending", help: "with --sort: smallest first" },
  port: {
    flags: "--port <n>",
    help: "port to serve on, on 127.0.0.1 (0: any free one)",
    default: "8017",
  },
  metric: {
    flags: "--metric <id>",
    help: "the accuracy to analyse: val_accuracy (default when measured) or train_accuracy",
  },
  bootstrap: {
    flags: "--bootstrap <n>",
    help: "bootstrap resamples per main effect",
    default: "2000",
  },
  format: { flags: "--format <format>", help: "output format" },
  target: {
    flags: "-t, --target <target>",
    help: "json: the IR graph; ts: a TypeScript module that builds the tfjs model; onnx; torch: a PyTorch module",
    choices: ["json", "ts", "onnx", "torch"],
    default: "json",
  },
  runtime: {
    flags: "--runtime <name>",
    help: "tfjs, or onnxruntime-node (CPU; CUDA where present)",
    choices: ["tfjs", "onnx"],
    default: "tfjs",
  },
  flat: {
    flags: "--flat",
    help: "ts: write every layer of the elaborated graph instead of one function per block",
  },
  layersModule: {
    flags: "--layers-module <specifier>",
    help: "where generated TypeScript imports its runtime (Builder, GroupedConv2D) from",
    default: "archc/layers",
  },
  warmup: { flags: "--warmup <n>", help: "untimed passes first", default: "2" },
  valData: {
    flags: "--val-data <source>",
    help: "validation data (default: the held-out split of --data)",
  },
  resume: {
    flags: "--resume",
    help: "continue the run in --out from its checkpoint (same network, arguments and config)",
  },
  checkpointSteps: {
    flags: "--checkpoint-steps <n>",
    help: "also write a checkpoint every N steps (0: off)",
    default: "0",
  },
  checkpointMinutes: {
    flags: "--checkpoint-minutes <m>",
    help: "also write a checkpoint every M minutes (0: off)",
    default: "5",
  },
  patience: {
    flags: "--patience <n>",
    help: "stop when validation loss has not improved for N epochs",
  },
  skipCorrupt: {
    flags: "--skip-corrupt",
    help: "skip unreadable images (counted) instead of stopping",
  },
  nproc: {
    flags: "--nproc <n>",
    help: "torch: processes on this machine, under torchrun with DistributedDataParallel",
  },
  nnodes: {
    flags: "--nnodes <n>",
    help: "torch: machines in all (torchrun --nnodes); needs --rdzv-endpoint",
  },
  nodeRank: {
    flags: "--node-rank <i>",
    help: "torch: this machine's rank, 0 to nnodes - 1 (node 0 writes the run folder)",
  },
  rdzvEndpoint: {
    flags: "--rdzv-endpoint <host:port>",
    help: "torch: node 0's address, the same on every machine",
  },
  workers: {
    flags: "--workers <n>",
    help: "data loading: the embedded trainer's decoding threads (default: the cores but one, at most 8), the torch engine's DataLoader workers per process (default 4 for packs and image folders, 0 for IDX and synthetic); never changes the samples or their order",
  },
  samplesLog: {
    flags: "--samples-log",
    help: "torch: write RUN/samples.jsonl, the samples every process read at each step (every node's, in node 0's run folder)",
  },
  split: {
    flags: "--split <split>",
    help: "test: the data's test set (t10k-* for IDX, test/ for image folders); val: the held-out examples the run validated on",
    choices: ["test", "val"],
    default: "test",
  },
  best: { flags: "--best", help: "the weights of the best epoch on validation loss (best.bin)" },
  expand: { flags: "--expand", help: "draw every layer inside nested block frames" },
  collapse: { flags: "--collapse", help: "one box per block instance (the default)" },
  depth: {
    flags: "--depth <n>",
    help: "block nesting levels a collapsed box stands for",
    default: "1",
  },
  check: { flags: "--check", help: "only report files that are not formatted (exit 1 if any)" },
  stdout: { flags: "--stdout", help: "print the formatted text instead of rewriting the file" },
  shardSize: {
    flags: "--shard-size <size>",
    help: "close a shard at this size: 256MB (the default), 1GiB, or a byte count",
  },
  verify: { flags: "--verify", help: "read every shard and check its sha256 against the index" },
  stdio: {
    flags: "--stdio",
    help: "talk over standard input and output (the only transport; editors pass it)",
  },
} as const satisfies Record<string, Declaration>;

export type OptionName = keyof typeof optionTable;

const collect = (v: string, prev: string[]) => [...prev, v];

/**
 * A fresh commander Option for a declared option (commander keeps state in each one, so commands
 * do not share instances). `over` rewords the help, or changes the default or choices where a
 * command's use differs (e.g. `--format`), never the flags.
 */
export function option(
  name: OptionName,
  over: { help?: string; default?: string; choices?: readonly string[] } = {},
): Option {
  const d: Declaration = optionTable[name];
  const o = new Option(d.flags, over.help ?? d.help);
  const choices = over.choices ?? d.choices;
  if (choices) o.choices([...choices]);
  if (d.list) o.argParser(collect).default([]);
  const fallback = over.default ?? d.default;
  if (fallback !== undefined) o.default(fallback);
  return o;
}

/** How a command rewords a declared option (see `option()`). */
export type OptionOver = Parameters<typeof option>[1];

/**
 * Options that travel together, so that every command taking a group names it once: which
 * network and at what point, how a run is trained and on what data, where tfjs computes, and the
 * torch engine.
 */
export const optionGroups = {
  network: ["network", "set"],
  training: [
    "data",
    "epochs",
    "steps",
    "batch",
    "lr",
    "limit",
    "valLimit",
    "valSplit",
    "bnMomentum",
    "preciseBn",
    "resize",
    "repeatChannels",
    "seed",
    "workers",
  ],
  tfjs: ["backend", "strategy", "threads"],
  torch: ["engine", "python"],
} as const satisfies Record<string, readonly OptionName[]>;

/** The option names of a group. */
export type GroupOption<G extends keyof typeof optionGroups> = (typeof optionGroups)[G][number];

/** Adds the named options to a command in order; `over` rewords those that differ there. */
export function addOptions(
  c: Command,
  names: readonly OptionName[],
  over: { readonly [N in OptionName]?: OptionOver } = {},
): Command {
  for (const name of names) c.addOption(option(name, over[name]));
  return c;
}

/** The value a declared option has after parsing: boolean flags, lists, strings. */
export type OptionValue<N extends OptionName> = (typeof optionTable)[N] extends { list: true }
  ? readonly string[]
  : (typeof optionTable)[N] extends { variadic: true }
    ? readonly string[] | undefined
    : (typeof optionTable)[N]["flags"] extends `${string}<${string}`
      ? (typeof optionTable)[N] extends { default: string }
        ? string
        : string | undefined
      : boolean | undefined;

/** The parsed options of a command that declares the options named N. */
export type OptionValues<N extends OptionName> = { readonly [K in N]: OptionValue<K> };
