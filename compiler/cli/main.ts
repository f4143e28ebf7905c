import { Command, CommanderError } from "commander";
import { Exit, processIO, type IO } from "./io.js";
import { MissingPackage, missingPackageOf } from "./missing.js";
import { FileProblem } from "../util/files.js";
import { addOptions, option, optionGroups, type OptionName } from "./options.js";

/**
 * The options sweep and search share: what to measure, how to train, where to write, how to split
 * across machines. Both are planners over one experiment engine (lab/experiment/).
 */
function experimentCommand(c: Command): Command {
  return addOptions(
    c,
    [
      "set",
      "measure",
      "snap",
      ...optionGroups.tfjs,
      "runs",
      "config",
      ...optionGroups.training,
      "seeds",
      "quiet",
      "json",
      "csv",
      "plot",
      "out",
      ...optionGroups.torch,
      "shard",
      "merge",
      "fresh",
    ],
    {
      set: { help: "fix a network argument; repeatable" },
      backend: { help: "tfjs backend for latency and train" },
      batch: {
        help: "batch size: of latency's forward passes (default 1) and of training (default: the config's)",
      },
      config: { help: "train config for --measure train" },
      data: { help: "training data for --measure train" },
      epochs: { help: "epochs per variant for --measure train" },
      json: { help: "print the results as JSON" },
      out: { help: "run folder for results.jsonl (default: runs/sweep-NAME)" },
      engine: {
        help: "for --measure train and latency: tfjs (embedded) or torch (PyTorch, through Python)",
      },
    },
  );
}

/** Every command, by name: a run registers only the one it names (see main). */
export const commandNames = [
  "check",
  "summary",
  "compile",
  "run",
  "train",
  "sweep",
  "search",
  "report",
  "export",
  "eval",
  "graph",
  "fmt",
  "explain",
  "list",
  "data",
  "lsp",
  "playground",
] as const;

/**
 * The command tree; with `only`, just that command (building every command's options was a
 * tenth of a short command's start). Help, version and mistyped commands get the whole tree.
 */
function program(io: IO, setExit: (code: number) => void, only?: string): Command {
  const wanted = (name: (typeof commandNames)[number]) => only === undefined || only === name;
  const cli = new Command("archc")
    .description(
      "Compiler for .arch network specs: check, summarise, format and compile along the partition continuum",
    )
    .version("0.1.0")
    .exitOverride()
    .showHelpAfterError("(run archc --help for usage)")
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
  /** A command over one spec file, with its options. */
  const specCommand = (
    name: string,
    description: string,
    names: readonly OptionName[],
    over: Parameters<typeof addOptions>[2] = {},
  ) =>
    addOptions(
      cli.command(name).description(description).argument("<file>", ".arch file"),
      names,
      over,
    );

  if (wanted("check"))
    addOptions(
      cli
        .command("check")
        .description("parse, resolve and elaborate specs; report every problem with its location")
        .argument("<files...>", ".arch files"),
      ["json", "maxLayers"],
      { json: { help: "print diagnostics as JSON" } },
    ).action(async (files: string[], o: { json?: boolean; maxLayers?: string }) =>
      setExit(await (await import("./commands/check.js")).checkCommand(io, files, o)),
    );

  if (wanted("summary"))
    specCommand(
      "summary",
      "a table of layers with output shape, parts, params and MACs, then totals",
      [...optionGroups.network, "json", "maxLayers"],
      { json: { help: "print the summary as JSON" } },
    ).action(async (file: string, o) =>
      setExit(await (await import("./commands/summary.js")).summaryCommand(io, file, o)),
    );

  if (wanted("compile"))
    specCommand(
      "compile",
      "lower a network to a target form",
      [
        "target",
        "out",
        "flat",
        "layersModule",
        "weights",
        "seed",
        ...optionGroups.network,
        "maxLayers",
      ],
      {
        weights: {
          help: "ONNX, torch: weights from a tfjs model.json folder or an archc train run folder (default: random for ONNX, none for torch)",
        },
        seed: {
          help: "ONNX without --weights: seed of the random weights (drawn biases and batch-norm statistics)",
          default: "1",
        },
      },
    ).action(async (file: string, o) =>
      setExit(await (await import("./commands/compile.js")).compileCommand(io, file, o)),
    );

  if (wanted("run"))
    specCommand(
      "run",
      "build the network on a tfjs backend and time forward passes on random input",
      [
        ...optionGroups.network,
        "batch",
        "runs",
        "warmup",
        "runtime",
        "weights",
        "inference",
        ...optionGroups.tfjs,
        "json",
      ],
      {
        batch: { help: "images per forward pass", default: "1" },
        runs: { help: "timed passes; the median is reported", default: "10" },
        weights: {
          help: "with --runtime onnx: weights from a tfjs model.json folder or an archc train run folder",
        },
        json: { help: "print {backend, batch, params, medianMs, imagesPerSec}" },
      },
    ).action(async (file: string, o) =>
      setExit(await (await import("./commands/run.js")).runCommand(io, file, o)),
    );

  if (wanted("train"))
    specCommand(
      "train",
      "train a network, or every model of an experiment, with checkpoints and metrics",
      [
        "experiment",
        ...optionGroups.network,
        "config",
        ...optionGroups.training,
        "valData",
        "out",
        "resume",
        "fresh",
        "checkpointSteps",
        "checkpointMinutes",
        "patience",
        "quiet",
        "skipCorrupt",
        ...optionGroups.tfjs,
        "json",
        ...optionGroups.torch,
        "nproc",
        "nnodes",
        "nodeRank",
        "rdzvEndpoint",
        "samplesLog",
      ],
      {
        experiment: { help: "train every model the experiment compares, at every sweep point" },
        network: { help: "network to train (default: the last in the file)" },
        config: {
          help: "train config (default: the file's only one, else SGD with momentum; a file with several asks which)",
        },
        out: { help: "run folder for checkpoint.bin and metrics.jsonl (default: runs/NAME)" },
        fresh: { help: "delete the run in --out (checkpoints, metrics) and start over" },
        quiet: { help: "print only the result and errors" },
        json: { help: "print the final metrics as JSON" },
        threads: {
          help: "threads: the wasm backend's (default: every core, or $ARCHC_THREADS); torch: per process (default: PyTorch's)",
        },
      },
    ).action(async (file: string, o) =>
      setExit(await (await import("./commands/train.js")).trainCommand(io, file, o)),
    );

  if (wanted("sweep"))
    experimentCommand(
      specCommand(
        "sweep",
        "move a network along the partition continuum (or any argument) and measure each point",
        ["network", "experiment", "sweep"],
        {
          network: { help: "network to sweep (default: the last in the file)" },
          experiment: { help: "run an experiment declaration's models instead of --sweep axes" },
        },
      ),
    ).action(async (file: string, o) =>
      setExit(await (await import("./commands/sweep.js")).sweepCommand(io, file, o)),
    );

  if (wanted("search"))
    experimentCommand(
      specCommand(
        "search",
        "enumerate or sample the configurations of a design space that meet cost constraints, from exact counts, and measure each",
        ["network", "experiment", "sweep", "where", "samples"],
        {
          network: { help: "network to search (default: the last in the file)" },
          experiment: {
            help: "the design space of an experiment declaration (its axes, constraints and samples)",
          },
          sweep: { help: "an axis of the design space, as for sweep; repeatable" },
        },
      ),
    ).action(async (file: string, o) =>
      setExit(await (await import("./commands/search.js")).searchCommand(io, file, o)),
    );

  if (wanted("report"))
    addOptions(
      cli
        .command("report")
        .description(
          "what a sweep or search found, and how sure: table, Pareto fronts, EDFs and main effects with bootstrap intervals",
        )
        .argument("<dir>", "a sweep's or search's --out folder (or its results.jsonl)"),
      ["sort", "ascending", "metric", "bootstrap", "seed", "plot", "json"],
      {
        seed: { help: "bootstrap seed: the same seed gives the same intervals" },
        plot: {
          help: "Pareto fronts, EDFs and main effects, a panel per axis (FILE.svg or FILE.png)",
        },
        json: { help: "print the report as JSON" },
      },
    ).action(async (dir: string, o) =>
      setExit(await (await import("./commands/report.js")).reportCommand(io, dir, o)),
    );

  const runArgument = "an archc train run folder (it holds manifest.json and checkpoint.bin)";
  if (wanted("export"))
    addOptions(
      cli
        .command("export")
        .description("export a trained run as a tfjs model folder or an ONNX file")
        .argument("<run>", runArgument),
      ["out", "format", "best"],
      {
        out: { help: "a folder (tfjs model.json + weights.bin) or FILE.onnx" },
        format: {
          help: "tfjs or onnx (default: onnx when --out ends in .onnx)",
          choices: ["tfjs", "onnx"],
        },
      },
    ).action(async (run: string, o) =>
      setExit(await (await import("./commands/export.js")).exportCommand(io, run, o)),
    );

  if (wanted("eval"))
    addOptions(
      cli
        .command("eval")
        .description(
          "measure a trained run on its test set (the only command that reads it) or its validation split, and record the number in the run folder",
        )
        .argument("<run>", runArgument),
      ["split", "best", "backend", "json"],
      { json: { help: "print the evaluation as JSON" } },
    ).action(async (run: string, o) =>
      setExit(await (await import("./commands/eval.js")).evalCommand(io, run, o)),
    );

  if (wanted("graph"))
    specCommand(
      "graph",
      "draw the network as an SVG diagram: blocks as boxes, tensor shapes on the edges",
      [...optionGroups.network, "expand", "collapse", "depth", "format", "out", "maxLayers"],
      {
        network: { help: "network to draw (default: the last in the file)" },
        format: { help: "svg, or the Graphviz source", choices: ["svg", "dot"], default: "svg" },
      },
    ).action(async (file: string, o) =>
      setExit(await (await import("./commands/graph.js")).graphCommand(io, file, o)),
    );

  if (wanted("fmt"))
    addOptions(
      cli
        .command("fmt")
        .description("rewrite specs in the one canonical layout")
        .argument("<files...>", ".arch files; - reads standard input and prints the result"),
      ["check", "stdout"],
    ).action(async (files: string[], o) =>
      setExit(await (await import("./commands/fmt.js")).fmtCommand(io, files, o)),
    );

  if (wanted("explain"))
    cli
      .command("explain")
      .description("what a diagnostic code means and how to fix it, e.g. archc explain E0400")
      .argument("[code]", "a code such as E0400; without one, every code with its title")
      .action(async (code: string | undefined) =>
        setExit((await import("./commands/explain.js")).explainCommand(io, code)),
      );

  if (wanted("list"))
    specCommand("list", "the networks, blocks, train configs and experiments a spec defines", [
      "json",
    ]).action(async (file: string, o) =>
      setExit(await (await import("./commands/list.js")).listCommand(io, file, o)),
    );

  if (wanted("data")) {
    const data = cli
      .command("data")
      .description(
        "pack data sets into tar shards (WebDataset layout) for streaming, and inspect them",
      );
    const indexJson = { help: "print the index as JSON" };
    addOptions(
      data
        .command("pack")
        .description("image folders or IDX files into tar shards with a checksummed index.json")
        .argument("<source>", "fashion-mnist, a folder of IDX files, or an image folder"),
      ["out", "shardSize", "seed", "limit", "json", "quiet"],
      {
        out: { help: "the new (or empty) folder for the shards and index.json" },
        seed: { help: "seed of the one shuffle at packing that mixes the classes" },
        limit: { help: "pack at most N samples of each split (a seeded subset)" },
        json: indexJson,
      },
    ).action(async (src: string, o) =>
      setExit(await (await import("./commands/data.js")).dataPackCommand(io, src, o)),
    );
    addOptions(
      data
        .command("info")
        .description(
          "the splits, classes, samples and shards of a packed data set; damage is named",
        )
        .argument("<dir>", "a folder written by archc data pack"),
      ["verify", "json"],
      { json: indexJson },
    ).action(async (dir: string, o) =>
      setExit(await (await import("./commands/data.js")).dataInfoCommand(io, dir, o)),
    );
  }
  if (wanted("lsp"))
    cli
      .command("lsp")
      .description(
        "a language server over standard input and output: diagnostics, hovers with shapes, params and MACs, completion, formatting",
      )
      .addOption(option("stdio"))
      // Editors add their own flags, such as --clientProcessId=N, which the server reads itself.
      .allowUnknownOption()
      .allowExcessArguments()
      .action(async () => setExit(await (await import("./lsp/server.js")).lspCommand()));

  if (wanted("playground"))
    cli
      .command("playground")
      .description(
        "the playground in your browser: a spec's shapes, costs and continuum as you type, served on 127.0.0.1",
      )
      .addOption(option("port"))
      .action(async (o) =>
        setExit(await (await import("./commands/playground.js")).playgroundCommand(io, o)),
      );

  return cli;
}

/** Runs archc with the given arguments (without `node archc`); resolves to the exit code. */
export async function main(argv: readonly string[], io: IO = processIO): Promise<number> {
  let code: number = Exit.ok;
  const named = commandNames.find((n) => n === argv[0]);
  const cli = program(io, (c) => (code = c), named);
  try {
    if (argv.length === 0) {
      cli.outputHelp();
      return Exit.usage;
    }
    await cli.parseAsync([...argv], { from: "user" });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander.help with a non-zero code: a command of subcommands given none (`archc data`).
      if (
        e.code === "commander.helpDisplayed" ||
        e.code === "commander.version" ||
        (e.code === "commander.help" && e.exitCode === 0)
      )
        return Exit.ok;
      return Exit.usage;
    }
    // A file in a run, sweep or output folder that breaks the file rule (util/files.ts).
    if (e instanceof FileProblem) {
      io.err(`archc: ${e.message}`);
      return Exit.diagnostics;
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
