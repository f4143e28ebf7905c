import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import schema from "./schema.json" with { type: "json" };
import { activationsOf } from "./activations.js";
import { channelsIn, partitionedChannels, spatialStepChannels } from "./geometry.js";
import type { IRGraph } from "./types.js";

/** The IR's JSON Schema, shipped beside this file so external tools can validate against it too. */
export const irSchema: object = schema;

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
