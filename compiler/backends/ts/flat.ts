import { Project, VariableDeclarationKind, type SourceFile } from "ts-morph";
import * as prettier from "prettier";
import type { IRGraph } from "../../language/ir/types.js";
import { planModel, type ConfigValue, type LayerKind, type PlannedLayer } from "../tfjs/plan.js";
import { tsDoc, tsLineComments, tsNames, tsString } from "./print.js";

export interface FlatEmitOptions {
  /** Where generated code imports GroupedConv2D from; the published package by default. */
  readonly layersModule?: string;
  /** Shown in the header: the spec the module was generated from. */
  readonly source?: string;
  readonly groupedStrategy?: string;
}

/**
 * How `--flat` code makes each planned layer kind: tfjs' own factory (`tf.layers.NAME`), or one of
 * archc's classes from `archc/layers`. One entry per kind, so a new kind is a compile error here.
 * archc's classes are imported in this table's order.
 */
const constructors: {
  readonly [K in Exclude<LayerKind, "input">]: { readonly tf: string } | { readonly archc: string };
} = {
  conv2d: { tf: "conv2d" },
  depthwiseConv2d: { tf: "depthwiseConv2d" },
  separableConv2d: { tf: "separableConv2d" },
  batchNormalization: { tf: "batchNormalization" },
  layerNormalization: { tf: "layerNormalization" },
  activation: { tf: "activation" },
  leakyReLU: { tf: "leakyReLU" },
  maxPooling2d: { tf: "maxPooling2d" },
  averagePooling2d: { tf: "averagePooling2d" },
  globalAveragePooling2d: { tf: "globalAveragePooling2d" },
  globalMaxPooling2d: { tf: "globalMaxPooling2d" },
  flatten: { tf: "flatten" },
  dense: { tf: "dense" },
  dropout: { tf: "dropout" },
  concatenate: { tf: "concatenate" },
  add: { tf: "add" },
  multiply: { tf: "multiply" },
  reshape: { tf: "reshape" },
  upSampling2d: { tf: "upSampling2d" },
  zeroPadding2d: { tf: "zeroPadding2d" },
  groupedConv2d: { archc: "GroupedConv2D" },
  channelShuffle: { archc: "ChannelShuffle" },
  maxPadding2d: { archc: "MaxPadding2D" },
  hardSwish: { archc: "HardSwish" },
  hSigmoid: { archc: "HSigmoid" },
  poolDivisor: { archc: "PoolDivisor" },
  channelSlice: { archc: "ChannelSlice" },
  layerScale: { archc: "LayerScale" },
  dropPath: { archc: "DropPath" },
};

/** archc's class for a planned layer, if tfjs has none of its own. */
function archcClass(kind: LayerKind): string | undefined {
  if (kind === "input") return undefined;
  const c = constructors[kind];
  return "archc" in c ? c.archc : undefined;
}

/** archc's classes that `--flat` code may import from `archc/layers`. */
export const archcClasses = Object.values(constructors).flatMap((c) =>
  "archc" in c ? [c.archc] : [],
);

function literal(v: ConfigValue): string {
  if (Array.isArray(v))
    return `[${(v as readonly (number | readonly number[])[]).map((x) => (typeof x === "number" ? String(x) : literal(x))).join(", ")}]`;
  return typeof v === "string" ? tsString(v) : String(v);
}

function configText(config: Readonly<Record<string, ConfigValue>>): string {
  return `{ ${Object.entries(config)
    .map(([k, v]) => `${k}: ${literal(v)}`)
    .join(", ")} }`;
}

function statement(layer: PlannedLayer, id: (planId: string) => string): string {
  if (layer.kind === "input") return `tf.input(${configText(layer.config)})`;
  const c = constructors[layer.kind];
  const make = `${"tf" in c ? `tf.layers.${c.tf}` : `new ${c.archc}`}(${configText(layer.config)})`;
  const input =
    layer.inputs.length === 1 ? id(layer.inputs[0]!) : `[${layer.inputs.map(id).join(", ")}]`;
  return `apply(${make}, ${input})`;
}

/**
 * Writes a network as a readable TypeScript module: one statement per tfjs layer, in the order
 * of the spec, with the spec's layer names. It builds the same model as the runtime backend
 * because both come from the same layer plan.
 */
export async function emitFlatTypeScript(
  graph: IRGraph,
  opts: FlatEmitOptions = {},
): Promise<string> {
  const plan = planModel(
    graph,
    opts.groupedStrategy ? { groupedStrategy: opts.groupedStrategy } : {},
  );
  const project = new Project({ useInMemoryFileSystem: true });
  const file: SourceFile = project.createSourceFile(`${graph.network}.ts`);
  const args = Object.entries(graph.args)
    .map(([k, v]) => `${k} = ${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(", ");
  file.addImportDeclaration({ moduleSpecifier: "@tensorflow/tfjs", namespaceImport: "tf" });
  const used = new Set(plan.layers.map((l) => archcClass(l.kind)));
  const custom = archcClasses.filter((c) => used.has(c));
  // The plan's ids are identifiers but may be a word the module uses (`tf`, `apply`) or reserved.
  const ids = tsNames(
    plan.layers.map((l) => l.id),
    ["tf", "apply", "build", "figures", ...archcClasses],
  );
  const id = (planId: string) => ids.get(planId)!;
  if (custom.length) {
    file.addImportDeclaration({
      moduleSpecifier: opts.layersModule ?? "archc/layers",
      namedImports: [...custom],
    });
  }
  const p = graph.totals.params;
  file.addVariableStatement({
    isExported: true,
    declarationKind: VariableDeclarationKind.Const,
    docs: [
      "The figures archc computed for this network; a test can compare them with the built model.",
    ],
    declarations: [
      {
        name: "figures",
        initializer: `{ params: ${p.total}, trainable: ${p.trainable}, nonTrainable: ${p.nonTrainable}, macs: ${graph.totals.macs}, input: [${graph.input.join(", ")}], output: [${graph.nodes[graph.output]!.shape.join(", ")}] } as const`,
      },
    ],
  });
  file.addFunction({
    name: "build",
    isExported: true,
    returnType: "tf.LayersModel",
    docs: [
      tsDoc(
        `${graph.network}(${args}): ${p.total.toLocaleString("en-US")} parameters, ${(graph.totals.macs / 1e9).toFixed(2)} G MACs per example.\n\nEach call makes a new model with freshly initialised weights.`,
      ),
    ],
    statements: (w) => {
      for (const layer of plan.layers)
        w.writeLine(`const ${id(layer.id)} = ${statement(layer, id)};`);
      w.writeLine(
        `return tf.model({ inputs: ${id(plan.input)}, outputs: ${id(plan.output)}, name: ${tsString(graph.network)} });`,
      );
    },
  });
  file.addFunction({
    name: "apply",
    docs: ["Calls a layer on symbolic tensors; tfjs types the result loosely."],
    parameters: [
      { name: "layer", type: "tf.layers.Layer" },
      { name: "x", type: "tf.SymbolicTensor | tf.SymbolicTensor[]" },
    ],
    returnType: "tf.SymbolicTensor",
    statements: "return layer.apply(x) as tf.SymbolicTensor;",
  });
  file.insertStatements(
    0,
    `${tsLineComments(`Generated by archc${opts.source ? ` from ${opts.source}` : ""}. Do not edit: change the spec and compile again.`).join("\n")}\n`,
  );
  return prettier.format(file.getFullText(), { parser: "typescript", printWidth: 100 });
}
