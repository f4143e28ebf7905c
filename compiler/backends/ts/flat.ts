import { Project, VariableDeclarationKind, type SourceFile } from "ts-morph";
import * as prettier from "prettier";
import type { IRGraph } from "../../language/ir/types.js";
import { planModel, type ConfigValue, type PlannedLayer } from "../tfjs/plan.js";
import { tsDoc, tsLineComments, tsNames, tsString } from "./print.js";

export interface FlatEmitOptions {
  /** Where generated code imports GroupedConv2D from; the published package by default. */
  readonly layersModule?: string;
  /** Shown in the header: the spec the module was generated from. */
  readonly source?: string;
  readonly groupedStrategy?: string;
}

const tfFactory: Record<
  Exclude<
    PlannedLayer["kind"],
    | "input"
    | "groupedConv2d"
    | "channelShuffle"
    | "maxPadding2d"
    | "hardSwish"
    | "hSigmoid"
    | "poolDivisor"
    | "channelSlice"
    | "layerScale"
    | "dropPath"
  >,
  string
> = {
  conv2d: "tf.layers.conv2d",
  depthwiseConv2d: "tf.layers.depthwiseConv2d",
  separableConv2d: "tf.layers.separableConv2d",
  batchNormalization: "tf.layers.batchNormalization",
  layerNormalization: "tf.layers.layerNormalization",
  activation: "tf.layers.activation",
  leakyReLU: "tf.layers.leakyReLU",
  maxPooling2d: "tf.layers.maxPooling2d",
  averagePooling2d: "tf.layers.averagePooling2d",
  globalAveragePooling2d: "tf.layers.globalAveragePooling2d",
  globalMaxPooling2d: "tf.layers.globalMaxPooling2d",
  flatten: "tf.layers.flatten",
  dense: "tf.layers.dense",
  dropout: "tf.layers.dropout",
  concatenate: "tf.layers.concatenate",
  add: "tf.layers.add",
  multiply: "tf.layers.multiply",
  reshape: "tf.layers.reshape",
  upSampling2d: "tf.layers.upSampling2d",
  zeroPadding2d: "tf.layers.zeroPadding2d",
};

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
  const make =
    layer.kind === "groupedConv2d"
      ? `new GroupedConv2D(${configText(layer.config)})`
      : layer.kind === "channelShuffle"
        ? `new ChannelShuffle(${configText(layer.config)})`
        : layer.kind === "maxPadding2d"
          ? `new MaxPadding2D(${configText(layer.config)})`
          : layer.kind === "hardSwish"
            ? `new HardSwish(${configText(layer.config)})`
            : layer.kind === "hSigmoid"
              ? `new HSigmoid(${configText(layer.config)})`
              : layer.kind === "poolDivisor"
                ? `new PoolDivisor(${configText(layer.config)})`
                : layer.kind === "channelSlice"
                  ? `new ChannelSlice(${configText(layer.config)})`
                  : layer.kind === "layerScale"
                    ? `new LayerScale(${configText(layer.config)})`
                    : layer.kind === "dropPath"
                      ? `new DropPath(${configText(layer.config)})`
                      : `${tfFactory[layer.kind]}(${configText(layer.config)})`;
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
  const customKinds = {
    GroupedConv2D: "groupedConv2d",
    ChannelShuffle: "channelShuffle",
    MaxPadding2D: "maxPadding2d",
    HardSwish: "hardSwish",
    HSigmoid: "hSigmoid",
    PoolDivisor: "poolDivisor",
    ChannelSlice: "channelSlice",
    LayerScale: "layerScale",
    DropPath: "dropPath",
  } as const;
  const custom = (Object.keys(customKinds) as (keyof typeof customKinds)[]).filter((c) =>
    plan.layers.some((l) => l.kind === customKinds[c]),
  );
  // The plan's ids are identifiers but may be a word the module uses (`tf`, `apply`) or reserved.
  const ids = tsNames(
    plan.layers.map((l) => l.id),
    ["tf", "apply", "build", "figures", ...Object.keys(customKinds)],
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
