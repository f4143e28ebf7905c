import type { Entry, TrainDecl } from "../../../grammar/ast.js";
import { DiagnosticError, error, fail, type Diagnostic } from "../../../grammar/diagnostic.js";
import { evaluate } from "../elaborate/evaluate.js";
import { Scope } from "../elaborate/scope.js";
import { show, type Value } from "../elaborate/values.js";
import type { Span } from "../../../grammar/span.js";
import { didYouMean } from "../suggest.js";
import { augmentEntry, evalCropValue, type Augment } from "./augment.js";

export type { Augment } from "./augment.js";

export type Optimizer =
  | { kind: "sgd"; lr: number; momentum: number; nesterov: boolean }
  | { kind: "rmsprop"; lr: number; momentum: number; rho: number; epsilon: number }
  | { kind: "adam"; lr: number; beta1: number; beta2: number; epsilon: number };

export type Schedule =
  | { kind: "constant" }
  | {
      kind: "exponential";
      rate: number;
      every: { amount: number; unit: "epochs" | "samples" | "steps" };
    };

/** A `train` declaration, checked and with Keras-like defaults filled in. */
export interface TrainConfig {
  readonly name: string;
  readonly optimizer: Optimizer;
  readonly schedule: Schedule;
  readonly weightDecay: number;
  readonly dropout?: number;
  readonly batch: number;
  readonly epochs: number;
  readonly dataset?: string;
  readonly labelSmoothing: number;
  /** Momentum of every batch norm's moving averages in the runs of this config (bn_momentum). */
  readonly bnMomentum?: number;
  /** Training-time preprocessing of each sample (absent: the images as they are). */
  readonly augment?: Augment;
  /** Evaluation resizes the centre crop of this fraction (by side) to the input (absent: all). */
  readonly evalCrop?: number;
}

const optimizerArgs: Record<Optimizer["kind"], Record<string, number | boolean>> = {
  sgd: { lr: 0.01, momentum: 0, nesterov: false },
  rmsprop: { lr: 0.001, momentum: 0, rho: 0.9, epsilon: 1e-7 },
  adam: { lr: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 },
};

export const trainKeys = [
  "optimizer",
  "schedule",
  "weight_decay",
  "dropout",
  "batch",
  "epochs",
  "dataset",
  "label_smoothing",
  "bn_momentum",
  "augment",
  "eval_crop",
];

export function evaluateTrain(decl: TrainDecl): {
  config?: TrainConfig;
  diagnostics: Diagnostic[];
} {
  const diagnostics: Diagnostic[] = [];
  const cfg: Record<string, unknown> = {
    name: decl.name.name,
    optimizer: { kind: "sgd", ...optimizerArgs.sgd },
    schedule: { kind: "constant" },
    weightDecay: 0,
    batch: 32,
    epochs: 1,
    labelSmoothing: 0,
  };
  const seen = new Set<string>();
  for (const entry of decl.entries) {
    try {
      const key = entry.key.name;
      if (!trainKeys.includes(key)) {
        fail(
          "E0300",
          entry.key.span,
          `train has no setting '${key}'`,
          didYouMean(key, trainKeys) ?? `settings: ${trainKeys.join(", ")}`,
        );
      }
      if (seen.has(key)) fail("E0304", entry.key.span, `'${key}' is set twice`);
      seen.add(key);
      // Its arguments hold number ranges (scale = 0.08..1), which evaluate() only knows for ints.
      if (key === "augment") {
        const augment = augmentEntry(entry);
        if (augment) cfg["augment"] = augment;
        continue;
      }
      const v = single(entry);
      switch (key) {
        case "optimizer":
          cfg["optimizer"] = optimizer(v, entry);
          break;
        case "schedule":
          cfg["schedule"] = schedule(v, entry);
          break;
        case "weight_decay":
          cfg["weightDecay"] = number(v, entry, 0);
          break;
        case "dropout":
          cfg["dropout"] = number(v, entry, 0, 1);
          break;
        case "batch":
          cfg["batch"] = integer(v, entry, 1);
          break;
        case "epochs":
          cfg["epochs"] = integer(v, entry, 1);
          break;
        case "label_smoothing":
          cfg["labelSmoothing"] = number(v, entry, 0, 1);
          break;
        case "bn_momentum":
          cfg["bnMomentum"] = number(v, entry, 0, 1);
          break;
        case "eval_crop":
          cfg["evalCrop"] = evalCropValue(number(v, entry, 0), entry.args[0]!.span);
          break;
        case "dataset":
          if (v.t !== "string" && v.t !== "symbol")
            fail("E0303", entry.span, `dataset must be a name or a path string, not ${show(v)}`);
          cfg["dataset"] = v.v;
          break;
      }
    } catch (e) {
      if (!(e instanceof DiagnosticError)) throw e;
      diagnostics.push(e.diagnostic);
    }
  }
  return diagnostics.length
    ? { diagnostics }
    : { config: cfg as unknown as TrainConfig, diagnostics };
}

/** Config values may be names of things (datasets, optimizers) that are not bound anywhere. */
function single(entry: Entry): Value {
  if (entry.args.length !== 1 || entry.args[0]!.name) {
    fail("E0302", entry.span, `'${entry.key.name}' takes one value`);
  }
  const e = entry.args[0]!.value;
  if (e.kind === "Name") return { t: "symbol", v: e.name };
  return evaluate(e, new Scope(), { allowCalls: true });
}

function number(v: Value, entry: Entry, min: number, maxExclusive = Infinity): number {
  if (
    (v.t !== "int" && v.t !== "float") ||
    !Number.isFinite(v.v) ||
    v.v < min ||
    v.v >= maxExclusive
  ) {
    fail(
      "E0303",
      entry.args[0]!.span,
      `'${entry.key.name}' must be a number${maxExclusive < Infinity ? ` in [${min}, ${maxExclusive})` : ` >= ${min}`}, not ${show(v)}`,
    );
  }
  return v.v;
}

function integer(v: Value, entry: Entry, min: number): number {
  if (v.t !== "int" || v.v < min)
    fail(
      "E0303",
      entry.args[0]!.span,
      `'${entry.key.name}' must be an integer >= ${min}, not ${show(v)}`,
    );
  return v.v;
}

function optimizer(v: Value, entry: Entry): Optimizer {
  const name = v.t === "call" ? v.name : v.t === "symbol" ? v.v : "";
  if (!(name in optimizerArgs)) {
    fail(
      "E0305",
      entry.args[0]!.span,
      `unknown optimizer ${show(v)}`,
      didYouMean(name, Object.keys(optimizerArgs)) ??
        "optimizers: sgd(lr, momentum, nesterov), rmsprop(lr, momentum, rho, epsilon), adam(lr, beta1, beta2, epsilon)",
    );
  }
  const kind = name as Optimizer["kind"];
  const defaults = optimizerArgs[kind];
  const out: Record<string, unknown> = { kind, ...defaults };
  if (v.t === "call") {
    if (v.positional.length)
      fail("E0303", entry.args[0]!.span, `${kind} takes named arguments, e.g. ${kind}(lr = 0.01)`);
    for (const [k, a] of Object.entries(v.args)) {
      if (!(k in defaults)) {
        fail(
          "E0300",
          entry.args[0]!.span,
          `${kind} has no argument '${k}'`,
          didYouMean(k, Object.keys(defaults)) ?? `arguments: ${Object.keys(defaults).join(", ")}`,
        );
      }
      const want = typeof defaults[k];
      if (
        (want === "boolean" && a.t !== "bool") ||
        (want === "number" && a.t !== "int" && a.t !== "float")
      ) {
        fail(
          "E0303",
          entry.args[0]!.span,
          `${kind}: ${k} must be ${want === "boolean" ? "true or false" : "a number"}, not ${show(a)}`,
        );
      }
      if (want === "number") checkRange(kind, k, (a as { v: number }).v, argSpan(entry, k));
      out[k] = (a as { v: unknown }).v;
    }
  }
  return out as Optimizer;
}

/** Where `name = ...` is written inside the entry's call, else the whole value. */
function argSpan(entry: Entry, name: string): Span {
  const e = entry.args[0]!.value;
  if (e.kind === "Call") {
    const a = e.args.find((x) => x.name?.name === name);
    if (a) return a.value.span;
  }
  return entry.args[0]!.span;
}

/** The ranges the CLI's flags enforce too: a rate must be positive and finite, and so on. */
const ranges: Record<string, { ok: (x: number) => boolean; want: string }> = {
  lr: { ok: (x) => x > 0, want: "a positive number, e.g. lr = 0.045" },
  momentum: { ok: (x) => x >= 0 && x < 1, want: "in [0, 1), e.g. momentum = 0.9" },
  rho: { ok: (x) => x >= 0 && x < 1, want: "in [0, 1), e.g. rho = 0.9" },
  beta1: { ok: (x) => x >= 0 && x < 1, want: "in [0, 1), e.g. beta1 = 0.9" },
  beta2: { ok: (x) => x >= 0 && x < 1, want: "in [0, 1), e.g. beta2 = 0.999" },
  epsilon: { ok: (x) => x > 0, want: "a positive number, e.g. epsilon = 1e-7" },
};

function checkRange(kind: string, name: string, x: number, span: Span): void {
  const r = ranges[name];
  if (r && !(Number.isFinite(x) && r.ok(x)))
    fail("E0303", span, `${kind}: ${name} must be ${r.want}, not ${x}`);
}

function schedule(v: Value, entry: Entry): Schedule {
  const name = v.t === "call" ? v.name : v.t === "symbol" ? v.v : "";
  if (name === "constant") return { kind: "constant" };
  if (name !== "exponential" || v.t !== "call") {
    fail(
      "E0305",
      entry.args[0]!.span,
      `unknown schedule ${show(v)}`,
      "schedules: constant, exponential(rate = 0.94, every = 2 epochs)",
    );
  }
  const rate = v.args["rate"];
  const every = v.args["every"];
  const extra = Object.keys(v.args).find((k) => k !== "rate" && k !== "every");
  if (extra)
    fail(
      "E0300",
      entry.args[0]!.span,
      `exponential has no argument '${extra}'`,
      "arguments: rate, every",
    );
  if (!rate || (rate.t !== "float" && rate.t !== "int")) {
    fail(
      "E0302",
      entry.args[0]!.span,
      "exponential needs rate = a positive number, e.g. rate = 0.94",
    );
  }
  if (!(Number.isFinite(rate.v) && rate.v > 0 && rate.v <= 1))
    fail(
      "E0303",
      argSpan(entry, "rate"),
      `exponential: rate must be in (0, 1] (the factor the rate is multiplied by each period), not ${rate.v}`,
    );
  if (
    !every ||
    every.t !== "quantity" ||
    !(every.amount > 0 && Number.isFinite(every.amount)) ||
    every.unit === "ms" ||
    every.unit === "us" ||
    every.unit === "s"
  ) {
    fail(
      "E0302",
      entry.args[0]!.span,
      "exponential needs every = a quantity, e.g. every = 2 epochs or every = 3000000 samples",
    );
  }
  return { kind: "exponential", rate: rate.v, every: { amount: every.amount, unit: every.unit } };
}

/** The config for a network whose file declares none: SGD with momentum, constant rate. */
export const fallbackTrainConfig: TrainConfig = {
  name: "default",
  optimizer: { kind: "sgd", lr: 0.01, momentum: 0.9, nesterov: false },
  schedule: { kind: "constant" },
  weightDecay: 0,
  batch: 32,
  epochs: 1,
  labelSmoothing: 0,
};
