import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import graphSchema from "./graphSchema.json" with { type: "json" };
import { definitionOf, opNames } from "../elaborate/ops/catalogue.js";
import { activations } from "./activationNames.js";
import { activationsOf } from "./activations.js";
import { attrsJsonSchema } from "./attrsSchema.js";
import { channelsIn, partitionedChannels, spatialStepChannels } from "./geometry.js";
import type { IRGraph } from "./types.js";

/**
 * The IR's JSON Schema: the graph's (graphSchema.json), with the op and activation lists and each
 * op's attrs schema from the op definitions, so a new op needs no edit here. `npm run build` writes it to
 * dist/compiler/language/ir/schema.json, for tools that validate without archc.
 */
export const irSchema: object = withOps(graphSchema);

function withOps(graph: typeof graphSchema): object {
  const node = graph.definitions.node;
  const rules = opNames.map((op) => ({
    if: { properties: { op: { const: op } } },
    then: { properties: { attrs: attrsJsonSchema(definitionOf(op).attrs) } },
  }));
  const withEnum = { ...node.properties, op: { ...node.properties.op, enum: opNames } };
  return {
    ...graph,
    definitions: {
      ...graph.definitions,
      activation: { enum: activations },
      node: { ...node, properties: withEnum, allOf: rules },
    },
  };
}

let validator: ValidateFunction | undefined;

/** Validates an IR graph against the schema, and the graph's own invariants the schema cannot say. */
export function validateIR(graph: unknown): string[] {
  validator ??= new Ajv({ allErrors: true, strict: true }).compile(irSchema);
  if (!validator(graph)) {
    return (validator.errors ?? []).map(
      (e: ErrorObject) => `${e.instancePath || "/"} ${e.message ?? "is invalid"}`,
    );
  }
  const g = graph as IRGraph;
  const problems: string[] = [];
  const names = new Set<string>();
  g.nodes.forEach((n, i) => {
    if (n.id !== i) problems.push(`/nodes/${i} has id ${n.id}`);
    if (names.has(n.name)) problems.push(`/nodes/${i} repeats the name ${n.name}`);
    names.add(n.name);
    for (const input of n.inputs)
      if (input >= i)
        problems.push(`/nodes/${i} reads node ${input}, which does not come before it`);
    if (n.inputs.some((input) => input >= i)) return;
    for (const fn of activationsOf(n))
      if (!(fn in g.activations)) problems.push(`/nodes/${i} uses ${fn}, not in /activations`);
    if (n.op === "sepconv") {
      const a = n.attrs;
      const want = spatialStepChannels(a.order, channelsIn(g, n), a.filters);
      if (a.spatialChannels !== want)
        problems.push(
          `/nodes/${i}/attrs/spatialChannels is ${a.spatialChannels}, but its spatial step reads ${want}`,
        );
    }
    if (n.op === "conv" || n.op === "sepconv") {
      const split = partitionedChannels(g, n);
      if (split % n.attrs.groups !== 0)
        problems.push(`/nodes/${i}/attrs/groups ${n.attrs.groups} does not divide ${split}`);
    }
  });
  if (g.output >= g.nodes.length) problems.push(`/output ${g.output} is not a node`);
  const sum = (f: (n: IRGraph["nodes"][number]) => number) => g.nodes.reduce((s, n) => s + f(n), 0);
  if (sum((n) => n.params.trainable) !== g.totals.params.trainable)
    problems.push("/totals/params/trainable is not the sum of the nodes'");
  if (sum((n) => n.macs) !== g.totals.macs)
    problems.push("/totals/macs is not the sum of the nodes'");
  return problems;
}
