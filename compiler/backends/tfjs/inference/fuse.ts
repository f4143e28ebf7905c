import type { LayerPlan, PlannedLayer } from "../plan.js";

/**
 * The activations tfjs' fused convolution and matMul apply inside the kernel (XNNPACK's output
 * clamp for relu and relu6 on wasm): `tf.fused`'s Activation, less prelu (no layer makes it).
 */
export type FusedActivation = "linear" | "relu" | "relu6" | "elu" | "sigmoid" | "leakyrelu";

const FUSABLE_FNS: ReadonlySet<string> = new Set(["linear", "relu", "relu6", "elu", "sigmoid"]);

/** Layers that end in a per-output-channel linear map, so a batch norm after them folds in. */
export type ConvLikeKind =
  "conv2d" | "depthwiseConv2d" | "separableConv2d" | "groupedConv2d" | "dense";

const CONV_LIKE: ReadonlySet<string> = new Set<ConvLikeKind>([
  "conv2d",
  "depthwiseConv2d",
  "separableConv2d",
  "groupedConv2d",
  "dense",
]);

/**
 * One step of an inference program: a convolution (or dense layer) with the batch norm and the
 * activation that follow it folded in, or any other planned layer on its own.
 */
export type Step =
  | {
      readonly kind: "conv";
      /** The convolution or dense layer: its inputs are the step's. */
      readonly head: PlannedLayer & { readonly kind: ConvLikeKind };
      /** The batch norm folded into the head's weights and bias. */
      readonly bn?: PlannedLayer;
      /** The activation the kernel applies, from the head's own config or a layer after it. */
      readonly activation: FusedActivation;
      /** The slope for leakyrelu. */
      readonly alpha?: number;
      /** The head's own activation when the kernel cannot apply it (softmax after dense). */
      readonly after?: string;
      /**
       * Zero padding before the head that the kernel applies instead ([[top, bottom], [left,
       * right]]): a ZeroPadding2D layer only the head reads, before a 'valid' conv2d.
       */
      readonly pads?: readonly (readonly number[])[];
      /** The ids the step reads: the head's, or the padding layer's. */
      readonly inputs: readonly string[];
      /** Every planned layer the step computes, head first: its output is the last one's. */
      readonly layers: readonly PlannedLayer[];
    }
  | {
      readonly kind: "layer";
      readonly layer: PlannedLayer;
      readonly layers: readonly PlannedLayer[];
    };

/** The step's output: the id of the last planned layer it computes. */
export function stepOutput(step: Step): string {
  return step.layers[step.layers.length - 1]!.id;
}

/** The ids a step reads. */
export function stepInputs(step: Step): readonly string[] {
  return step.kind === "conv" ? step.inputs : step.layer.inputs;
}

/** How many layers read each id, the plan's output counting as one more reader. */
function readers(plan: LayerPlan): Map<string, number> {
  const n = new Map<string, number>();
  for (const l of plan.layers) for (const i of l.inputs) n.set(i, (n.get(i) ?? 0) + 1);
  n.set(plan.output, (n.get(plan.output) ?? 0) + 1);
  return n;
}

function ownActivation(layer: PlannedLayer): string {
  const a = layer.config["activation"];
  return typeof a === "string" ? a : "linear";
}

/** What a standalone activation layer adds to a fused kernel, or undefined if it cannot. */
function fusableActivation(
  layer: PlannedLayer,
): { activation: FusedActivation; alpha?: number } | undefined {
  if (layer.kind === "leakyReLU") {
    const alpha = layer.config["alpha"];
    return typeof alpha === "number" ? { activation: "leakyrelu", alpha } : undefined;
  }
  if (layer.kind !== "activation") return undefined;
  const fn = ownActivation(layer);
  return FUSABLE_FNS.has(fn) ? { activation: fn as FusedActivation } : undefined;
}

/**
 * Groups a layer plan into inference steps, in the plan's order. A convolution, depthwise,
 * separable, grouped or dense layer whose output only a batch norm over the last axis reads
 * takes that batch norm in (its scale and shift fold into the weights and bias: exact up to
 * float32 rounding, since inference normalises with the moving statistics), and then an
 * activation that only it reads, when the fused kernel can apply it; a conv2d with 'valid'
 * padding takes in the zero padding before it (the kernel pads). Every other layer is a
 * step of its own. Nothing is fused across a tensor that a second layer (or the output) reads.
 */
export function fuseSteps(plan: LayerPlan): Step[] {
  const byInput = new Map<string, PlannedLayer[]>();
  for (const l of plan.layers)
    for (const i of l.inputs) byInput.set(i, [...(byInput.get(i) ?? []), l]);
  const count = readers(plan);
  /** The one layer that reads `id`, if nothing else (the output included) does. */
  const soleReader = (id: string): PlannedLayer | undefined =>
    count.get(id) === 1 ? byInput.get(id)?.[0] : undefined;

  const absorbed = new Set<string>();
  /** Padding layers taken into the convolution that reads them, by that convolution's id. */
  const padFor = new Map<string, PlannedLayer>();
  for (const pad of plan.layers) {
    const conv = pad.kind === "zeroPadding2d" ? soleReader(pad.id) : undefined;
    // tf.fused.conv2d takes explicit padding; its depthwise sibling does not.
    if (conv?.kind === "conv2d" && conv.config["padding"] === "valid") {
      padFor.set(conv.id, pad);
      absorbed.add(pad.id);
    }
  }
  const steps: Step[] = [];
  for (const layer of plan.layers) {
    if (absorbed.has(layer.id)) continue;
    if (!CONV_LIKE.has(layer.kind)) {
      steps.push({ kind: "layer", layer, layers: [layer] });
      continue;
    }
    const head = layer as PlannedLayer & { kind: ConvLikeKind };
    const layers: PlannedLayer[] = [head];
    const own = ownActivation(head);
    let activation: FusedActivation = "linear";
    let alpha: number | undefined;
    let after: string | undefined;
    let bn: PlannedLayer | undefined;
    if (own === "linear") {
      const next = soleReader(head.id);
      if (next?.kind === "batchNormalization" && next.config["axis"] === -1) {
        bn = next;
        layers.push(next);
      }
      const act = soleReader(layers[layers.length - 1]!.id);
      const fused = act && fusableActivation(act);
      if (act && fused) {
        ({ activation, alpha } = fused);
        layers.push(act);
      }
    } else if (FUSABLE_FNS.has(own)) activation = own as FusedActivation;
    else after = own;
    for (const l of layers) absorbed.add(l.id);
    const pad = padFor.get(head.id);
    const pads = pad?.config["padding"] as readonly (readonly number[])[] | undefined;
    steps.push({
      kind: "conv",
      head,
      ...(pad && pads ? { pads } : {}),
      inputs: pad ? pad.inputs : head.inputs,
      ...(bn ? { bn } : {}),
      activation,
      ...(alpha !== undefined ? { alpha } : {}),
      ...(after !== undefined ? { after } : {}),
      layers,
    });
  }
  return steps;
}
