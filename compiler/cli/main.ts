import { Command, CommanderError, Option } from "commander";
import { Exit, processIO, type IO } from "./io.js";
import { backendChoices } from "../backends/tfjs/choices.js";
import { MissingPackage, missingPackageOf } from "./missing.js";
import { STRATEGY_NAMES } from "../backends/tfjs/grouped/names.js";

/** --strategy on run, train and sweep: one grouped-convolution strategy for every grouped layer. */
const strategyOption = () =>
  new Option(
    "--strategy <name>",
    "grouped-convolution strategy of every grouped layer (default auto: per layer, the fastest that fits in memory)",
  ).choices(["auto", ...STRATEGY_NAMES]);

const collect = (v: string, prev: string[]) => [...prev, v];

function program(io: IO, setExit: (code: number) => void): Command {
  const cli = new Command("archc")
    .description(
      "Compiler for .arch network specs: check, summarise, format and compile along the partition continuum",
    )
    .version("0.1.0")
    .exitOverride()
    .showHelpAfterError("(run archc --help for usage)")
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });

  cli
    .command("check")
    .description("parse, resolve and elaborate specs; report every problem with its location")
    .argument("<files...>", ".arch files")
    .option("--json", "print diagnostics as JSON")
    .option("--max-layers <n>", "refuse a network of more than N layers (default 100000)")
    .action(async (files: string[], o: { json?: boolean; maxLayers?: string }) =>
      setExit(await (await import("./commands/check.js")).checkCommand(io, files, o)),
    );

  cli
    .command("summary")
    .description("a table of layers with output shape, parts, params and MACs, then totals")
    .argument("<file>", ".arch file")
    .option("-n, --network <name>", "network to build (default: the last in the file)")
    .option("-s, --set <name=value>", "set a network argument; repeatable", collect, [])
    .option("--json", "print the summary as JSON")
    .option("--max-layers <n>", "refuse a network of more than N layers (default 100000)")
    .action(async (file: string, o) =>
      setExit(await (await import("./commands/summary.js")).summaryCommand(io, file, o)),
    );

  cli
    .command("compile")
    .description("lower a network to a target form")
    .argument("<file>", ".arch file")
    .addOption(
      new Option(
        "-t, --target <target>",
        "json: the IR graph; ts: a TypeScript module that builds the tfjs model; onnx; torch: a PyTorch module",
      )
        .choices(["json", "ts", "onnx", "torch"])
        .default("json"),
    )
    .option("-o, --out <path>", "write here instead of standard output")
    .option(
      "--flat",
      "ts: write every layer of the elaborated graph instead of one function per block",
    )
    .option(
      "--layers-module <specifier>",
      "where generated TypeScript imports its runtime (Builder, GroupedConv2D) from",
      "archc/layers",
    )
    .option(
      "--weights <dir>",
      "ONNX, torch: weights from a tfjs model.json folder or an archc train run folder (default: random for ONNX, none for torch)",
    )
    .option(
      "--seed <n>",
      "ONNX without --weights: seed of the random weights (drawn biases and batch-norm statistics)",
      "1",
    )
    .option("-n, --network <name>", "network to build (default: the last in the file)")
    .option("-s, --set <name=value>", "set a network argument; repeatable", collect, [])
    .option("--max-layers <n>", "refuse a network of more than N layers (default 100000)")
    .action(async (file: string, o) =>
      setExit(await (await import("./commands/compile.js")).compileCommand(io, file, o)),
    );

  cli
    .command("run")
    .description("build the network on a tfjs backend and time forward passes on random input")
    .argument("<file>", ".arch file")
    .option("-n, --network <name>", "network to build (default: the last in the file)")
    .option("-s, --set <name=value>", "set a network argument; repeatable", collect, [])
    .option("-b, --batch <n>", "images per forward pass", "1")
    .option("--runs <n>", "timed passes; the median is reported", "10")
    .option("--warmup <n>", "untimed passes first", "2")
    .addOption(
      new Option("--backend <name>", "tfjs backend").choices([...backendChoices]).default("auto"),
    )
    .addOption(
      new Option("--runtime <name>", "tfjs, or onnxruntime-node (CPU; CUDA where present)")
        .choices(["tfjs", "onnx"])
        .default("tfjs"),
    )
    .option(
      "--weights <dir>",
      "with --runtime onnx: weights from a tfjs model.json folder or an archc train run folder",
    )
    .addOption(strategyOption())
    .option("--threads <n>", "wasm backend: threads (default: every core, or $ARCHC_THREADS)")
    .option("--json", "print {backend, batch, params, medianMs, imagesPerSec}")
    .action(async (file: string, o) =>
      setExit(await (await import("./commands/run.js")).runCommand(io, file, o)),
    );

  cli
    .command("train")
    .description("train a network, or every model of an experiment, with checkpoints and metrics")
    .argument("<file>", ".arch file")
    .option(
      "-e, --experiment <name>",
      "train every model the experiment compares, at every sweep point",
    )
    .option("-n, --network <name>", "network to train (default: the last in the file)")
    .option(
      "-c, --config <name>",
      "train config (default: the file's only one, else SGD with momentum)",
    )
    .option("-s, --set <name=value>", "set a network argument; repeatable", collect, [])
    .option(
      "-d, --data <source>",
      "synthetic[:N], fashion-mnist, an IDX folder or an image folder (default: the config's dataset)",
    )
    .option("--val-data <source>", "validation data (default: the held-out split of --data)")
    .option("--epochs <n>", "epochs (default: the config's)")
    .option("--batch <n>", "batch size (default: the config's)")
    .option("--lr <rate>", "initial learning rate (default: the config's)")
    .option("--limit <n>", "train on the first N examples")
    .option("--val-limit <n>", "validate on the first N examples")
    .option(
      "-o, --out <dir>",
      "run folder for checkpoint.bin and metrics.jsonl (default: runs/NAME)",
    )
    .option(
      "--resume",
      "continue the run in --out from its checkpoint (same network, arguments and config)",
    )
    .option("--fresh", "delete the run in --out (checkpoints, metrics) and start over")
    .option("--checkpoint-steps <n>", "also write a checkpoint every N steps (0: off)", "0")
    .option("--checkpoint-minutes <m>", "also write a checkpoint every M minutes (0: off)", "5")
    .option("--patience <n>", "stop when validation loss has not improved for N epochs")
    .option("--quiet", "print only the result and errors")
    .option("--seed <n>", "seed for weights, shuffling and dropout", "0")
    .option("--skip-corrupt", "skip unreadable images (counted) instead of stopping")
    .addOption(strategyOption())
    .addOption(
      new Option("--backend <name>", "tfjs backend").choices([...backendChoices]).default("auto"),
    )
    .option("--json", "print the final metrics as JSON")
    .addOption(
      new Option("--engine <name>", "tfjs: the embedded trainer; torch: PyTorch, through Python")
        .choices(["tfjs", "torch"])
        .default("tfjs"),
    )
    .option(
      "--python <path>",
      "torch: the interpreter (default: $ARCHC_PYTHON, else python3 on PATH with torch)",
    )
    .option(
      "--nproc <n>",
      "torch: processes on this machine, under torchrun with DistributedDataParallel",
    )
    .option("--nnodes <n>", "torch: machines in all (torchrun --nnodes); needs --rdzv-endpoint")
    .option(
      "--node-rank <i>",
      "torch: this machine's rank, 0 to nnodes - 1 (node 0 writes the run folder)",
    )
    .option("--rdzv-endpoint <host:port>", "torch: node 0's address, the same on every machine")
    .option(
      "--threads <n>",
      "threads: the wasm backend's (default: every core, or $ARCHC_THREADS); torch: per process (default: PyTorch's)",
    )
    .action(async (file: string, o) =>
      setExit(await (await import("./commands/train.js")).trainCommand(io, file, o)),
    );

  cli
    .command("sweep")
    .description(
      "move a network along the partition continuum (or any argument) and measure each point",
    )
    .argument("<file>", ".arch file")
    .option("-n, --network <name>", "network to sweep (default: the last in the file)")
    .option(
      "-e, --experiment <name>",
      "run an experiment declaration's models instead of --sweep axes",
    )
    .option(
      "--sweep <name=values>",
      "an axis, e.g. parts=1,2,4,depthwise or parts=all; repeatable (cross product)",
      collect,
      [],
    )
    .option("-s, --set <name=value>", "fix a network argument; repeatable", collect, [])
    .option("-m, --measure <list>", "params, macs, latency, train (comma-separated)", "params,macs")
    .option(
      "--snap",
      "move parts values that do not divide a layer to its nearest valid one, and record it",
    )
    .addOption(
      new Option("--backend <name>", "tfjs backend for latency and train")
        .choices([...backendChoices])
        .default("auto"),
    )
    .option("-b, --batch <n>", "batch for latency", "1")
    .option("--threads <n>", "wasm backend: threads (default: every core, or $ARCHC_THREADS)")
    .option("--runs <n>", "timed forward passes per variant (median and spread reported)", "5")
    .option("-c, --config <name>", "train config for --measure train")
    .option("-d, --data <source>", "training data for --measure train")
    .option("--epochs <n>", "epochs per variant for --measure train")
    .option("--limit <n>", "train on the first N examples")
    .option("--val-limit <n>", "validate on the first N examples")
    .option("--seed <n>", "seed for weights, shuffling and dropout", "0")
    .option(
      "--seeds <n>",
      "with --measure train: train each variant N times (seeds SEED..SEED+N-1); mean and spread",
    )
    .option("--quiet", "print only the results and errors")
    .addOption(strategyOption())
    .option("--json", "print the results as JSON")
    .option("--csv", "print the results as CSV")
    .option(
      "--plot <file>",
      "plot each measure against the first axis, with error bars over seeds and accuracy against MACs and params (FILE.svg or FILE.png)",
    )
    .option("-o, --out <dir>", "run folder for results.jsonl (default: runs/sweep-NAME)")
    .addOption(
      new Option("--engine <name>", "for --measure train: tfjs (embedded) or torch (PyTorch)")
        .choices(["tfjs", "torch"])
        .default("tfjs"),
    )
    .option(
      "--python <path>",
      "torch: the interpreter (default: $ARCHC_PYTHON, else python3 on PATH with torch)",
    )
    .option(
      "--shard <i/n>",
      "measure only every n-th variant from the i-th (0 <= i < n): one job of an array",
    )
    .option(
      "--merge <dirs...>",
      "join the results of shard folders into one table (and --plot, --out)",
    )
    .option("--fresh", "forget earlier results in the run folder")
    .action(async (file: string, o) =>
      setExit(await (await import("./commands/sweep.js")).sweepCommand(io, file, o)),
    );

  cli
    .command("export")
    .description("export a trained run as a tfjs model folder or an ONNX file")
    .argument("<run>", "an archc train run folder (it holds manifest.json and checkpoint.bin)")
    .option("-o, --out <path>", "a folder (tfjs model.json + weights.bin) or FILE.onnx")
    .addOption(
      new Option(
        "--format <format>",
        "tfjs or onnx (default: onnx when --out ends in .onnx)",
      ).choices(["tfjs", "onnx"]),
    )
    .option("--best", "the weights of the best epoch on validation loss (best.bin)")
    .action(async (run: string, o) =>
      setExit(await (await import("./commands/export.js")).exportCommand(io, run, o)),
    );

  cli
    .command("graph")
    .description("draw the network as an SVG diagram: blocks as boxes, tensor shapes on the edges")
    .argument("<file>", ".arch file")
    .option("-n, --network <name>", "network to draw (default: the last in the file)")
    .option("-s, --set <name=value>", "set a network argument; repeatable", collect, [])
    .option("--expand", "draw every layer inside nested block frames")
    .option("--collapse", "one box per block instance (the default)")
    .option("--depth <n>", "block nesting levels a collapsed box stands for", "1")
    .addOption(
      new Option("--format <format>", "svg, or the Graphviz source")
        .choices(["svg", "dot"])
        .default("svg"),
    )
    .option("-o, --out <path>", "write here instead of standard output")
    .option("--max-layers <n>", "refuse a network of more than N layers (default 100000)")
    .action(async (file: string, o) =>
      setExit(await (await import("./commands/graph.js")).graphCommand(io, file, o)),
    );

  cli
    .command("fmt")
    .description("rewrite specs in the one canonical layout")
    .argument("<files...>", ".arch files; - reads standard input and prints the result")
    .option("--check", "only report files that are not formatted (exit 1 if any)")
    .option("--stdout", "print the formatted text instead of rewriting the file")
    .action(async (files: string[], o) =>
      setExit(await (await import("./commands/fmt.js")).fmtCommand(io, files, o)),
    );

  cli
    .command("explain")
    .description("what a diagnostic code means and how to fix it, e.g. archc explain E0400")
    .argument("[code]", "a code such as E0400; without one, every code with its title")
    .action(async (code: string | undefined) =>
      setExit((await import("./commands/explain.js")).explainCommand(io, code)),
    );

  cli
    .command("list")
    .description("the networks, blocks, train configs and experiments a spec defines")
    .argument("<file>", ".arch file")
    .option("--json", "print as JSON")
    .action(async (file: string, o) =>
      setExit(await (await import("./commands/list.js")).listCommand(io, file, o)),
    );

  cli
    .command("lsp")
    .description(
      "a language server over standard input and output: diagnostics, hovers with shapes, params and MACs, completion, formatting",
    )
    .option("--stdio", "talk over standard input and output (the only transport; editors pass it)")
    // Editors add their own flags, such as --clientProcessId=N, which the server reads itself.
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async () => setExit(await (await import("./lsp/server.js")).lspCommand()));

  cli
    .command("playground")
    .description(
      "the playground in your browser: a spec's shapes, costs and continuum as you type, served on 127.0.0.1",
    )
    .option("--port <n>", "port to serve on (0: any free one)", "8017")
    .action(async (o) =>
      setExit(await (await import("./commands/playground.js")).playgroundCommand(io, o)),
    );

  return cli;
}

/** Runs archc with the given arguments (without `node archc`); resolves to the exit code. */
export async function main(argv: readonly string[], io: IO = processIO): Promise<number> {
  let code: number = Exit.ok;
  const cli = program(io, (c) => (code = c));
  try {
    if (argv.length === 0) {
      cli.outputHelp();
      return Exit.usage;
    }
    await cli.parseAsync([...argv], { from: "user" });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (
        e.code === "commander.helpDisplayed" ||
        e.code === "commander.version" ||
        e.code === "commander.help"
      )
        return Exit.ok;
      return Exit.usage;
    }
    const missing = e instanceof MissingPackage ? e : missingPackageOf(e);
    if (missing) {
      io.err(`archc: ${missing.message}`);
      return Exit.usage;
    }
    // Bad input never gets here: it is reported as diagnostics. This is archc's own fault.
    const message = e instanceof Error ? e.message : String(e);
    io.err(
      `archc: internal error: ${message.split("\n")[0]} (please report this with the spec that caused it)`,
    );
    if (process.env["ARCHC_DEBUG"] && e instanceof Error) io.err(e.stack ?? "");
    return Exit.internal;
  }
}
