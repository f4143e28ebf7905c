import type { NodeOf, OpName } from "../../language/ir/types.js";
import { torchActivations } from "./activations.js";
import {
  inline,
  lit,
  module,
  optional,
  pair,
  type Arg,
  type LayerContext,
  type StateDictName,
  type TorchLayer,
} from "./layer.js";

/** One op in PyTorch. */
interface TorchOp<Op extends OpName> {
  /** How forward() computes the node: a submodule's constructor call, or an inline expression. */
  layer(node: NodeOf<Op>, ctx: LayerContext): TorchLayer;
  /** The node's parameters under both names (ONNX's and the state dict's), given its module path. */
  stateDict(node: NodeOf<Op>, path: string): StateDictName[];
  /** The Python class its module needs beyond the prelude, written only where the network uses the op; or null. */
  readonly pythonClass: string | null;
}

const none = () => [];

/**
 * Each op in PyTorch: its layer in the generated module, its state-dict entries (named as the
 * tfjs weights are) and the class it needs beyond the prelude. One entry per op, so that an op
 * added to the IR is a compile error here, and only here; the order is the order modules write
 * the classes in.
 */
export const torchOps: { readonly [Op in OpName]: TorchOp<Op> } = {
  // The network's input is forward()'s argument.
  input: {
    layer: () => inline(() => "x"),
    stateDict: none,
    pythonClass: null,
  },
  conv: {
    layer: convolution,
    stateDict: ({ name: n, attrs }, p) => [
      { onnx: `${n}/kernel`, torch: `${p}.weight` },
      ...(attrs.useBias ? [{ onnx: `${n}/bias`, torch: `${p}.bias` }] : []),
    ],
    pythonClass: null,
  },
  sepconv: {
    layer: convolution,
    stateDict: ({ name: n, attrs }, p) => [
      { onnx: `${n}/spatial/kernel`, torch: `${p}.spatial.weight` },
      { onnx: `${n}/pointwise/kernel`, torch: `${p}.pointwise.weight` },
      ...(attrs.useBias
        ? [
            {
              onnx: `${n}/bias`,
              torch: attrs.order === "spatial_first" ? `${p}.pointwise.bias` : `${p}.spatial.bias`,
            },
          ]
        : []),
    ],
    pythonClass: null,
  },
  bn: {
    layer: (node, ctx) => {
      const a = node.attrs;
      const args: Arg[] = [{ v: lit(ctx.channelsIn(node), "channels") }];
      args.push(optional("epsilon", a.epsilon, 1e-3));
      args.push(optional("momentum", a.momentum, 0.99));
      args.push(optional("scale", a.scale, true));
      args.push(optional("center", a.center, true));
      return module("BatchNorm2d", args);
    },
    stateDict: ({ name: n }, p) =>
      (
        [
          ["gamma", "weight"],
          ["beta", "bias"],
          ["moving_mean", "running_mean"],
          ["moving_variance", "running_var"],
        ] as const
      ).map(([from, to]) => ({
        onnx: `${n}/${from}`,
        torch: `${p}.${to}`,
        ...(from === "gamma" || from === "beta" ? { optional: true } : {}),
      })),
    pythonClass: null,
  },
  layernorm: {
    layer: (node, ctx) => {
      const a = node.attrs;
      return module("ChannelLayerNorm", [
        { v: lit(ctx.channelsIn(node), "channels") },
        optional("epsilon", a.epsilon, 1e-6),
        optional("scale", a.scale, true),
        optional("center", a.center, true),
      ]);
    },
    stateDict: ({ name: n }, p) =>
      (
        [
          ["gamma", "weight"],
          ["beta", "bias"],
        ] as const
      ).map(([from, to]) => ({ onnx: `${n}/${from}`, torch: `${p}.${to}`, optional: true })),
    pythonClass: `class ChannelLayerNorm(nn.Module):
    """Layer normalisation over the channels of each position, as ConvNeXt's (torchvision's
    LayerNorm2d on images, nn.LayerNorm on feature vectors): archc's layernorm."""

    def __init__(self, channels: int, epsilon: float = 1e-6, scale: bool = True, center: bool = True):
        super().__init__()
        self.normalized_shape = (channels,)
        self.eps = epsilon
        self.weight = nn.Parameter(torch.ones(channels)) if scale else None
        self.bias = nn.Parameter(torch.zeros(channels)) if center else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        y = F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias, self.eps)
        return y.permute(0, 3, 1, 2)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape[0]}, epsilon={self.eps}"`,
  },
  layerscale: {
    layer: (node, ctx) =>
      module("LayerScale", [
        { v: lit(ctx.channelsIn(node), "channels") },
        { v: lit(node.attrs.init, "init") },
      ]),
    stateDict: ({ name: n }, p) => [{ onnx: `${n}/gamma`, torch: `${p}.weight` }],
    pythonClass: `class LayerScale(nn.Module):
    """A learnable multiplier per channel, each starting at init (ConvNeXt's layer_scale)."""

    def __init__(self, channels: int, init: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.full((channels,), float(init)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * (self.weight[:, None, None] if x.dim() == 4 else self.weight)`,
  },
  act: {
    layer: (node, ctx) => {
      const p = ctx.bound(node, "activation");
      if (p) return module("Activation", [{ v: { k: "param", name: p } }]);
      const fn = torchActivations[node.attrs.activation].module;
      return fn
        ? module(fn, [])
        : module("Activation", [{ v: lit(node.attrs.activation, "activation") }]);
    },
    stateDict: none,
    pythonClass: null,
  },
  maxpool: {
    layer: (node) => pool(node, "MaxPool2d"),
    stateDict: none,
    pythonClass: null,
  },
  avgpool: {
    layer: (node) => pool(node, "AvgPool2d"),
    stateDict: none,
    pythonClass: null,
  },
  zeropad: {
    layer: (node) => {
      // nn.ZeroPad2d takes (left, right, top, bottom); the IR's pads are top, bottom, left, right.
      const [t, b, l, r] = node.attrs.pads;
      return module("nn.ZeroPad2d", [{ v: lit([l, r, t, b], "pad") }]);
    },
    stateDict: none,
    pythonClass: null,
  },
  dense: {
    layer: (node, ctx) => {
      const a = node.attrs;
      const p = ctx.bound(node, "units");
      const args: Arg[] = [
        { v: lit(ctx.channelsIn(node), "in_features") },
        { v: p ? { k: "param", name: p } : lit(a.units, "units") },
      ];
      args.push(optional("bias", a.useBias, true));
      args.push(...ctx.activation(node, "activation", a.activation));
      return module("Dense", args);
    },
    stateDict: ({ name: n, attrs }, p) => [
      { onnx: `${n}/kernel`, torch: `${p}.weight`, transpose: true },
      ...(attrs.useBias ? [{ onnx: `${n}/bias`, torch: `${p}.bias` }] : []),
    ],
    pythonClass: null,
  },
  droppath: {
    layer: (node, ctx) => {
      const p = ctx.bound(node, "rate");
      return module("DropPath", [
        { v: p ? { k: "param", name: p } : lit(node.attrs.rate, "rate") },
      ]);
    },
    stateDict: none,
    pythonClass: `class DropPath(nn.Module):
    """Stochastic depth, torchvision's StochasticDepth(rate, "row"): in training each example is
    zeroed with probability rate, else divided by 1 - rate; the identity in eval mode."""

    def __init__(self, rate: float):
        super().__init__()
        self.rate = rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate == 0.0:
            return x
        keep = 1.0 - self.rate
        noise = x.new_empty([x.shape[0]] + [1] * (x.dim() - 1)).bernoulli_(keep)
        return x * noise.div_(keep)

    def extra_repr(self) -> str:
        return f"rate={self.rate}"`,
  },
  dropout: {
    layer: (node, ctx) => {
      const p = ctx.bound(node, "rate");
      return module("nn.Dropout", [
        { v: p ? { k: "param", name: p } : lit(node.attrs.rate, "rate") },
      ]);
    },
    stateDict: none,
    pythonClass: null,
  },
  split: {
    layer: (node, ctx) => {
      const { start, size } = node.attrs;
      return module("ChannelSplit", [
        { v: lit(ctx.channelsIn(node) / size, "parts") },
        { v: lit(start / size, "take") },
      ]);
    },
    stateDict: none,
    pythonClass: `class ChannelSplit(nn.Module):
    """One of \`parts\` equal channel parts, as ShuffleNet v2's x.chunk(parts, dim=1)[take]: archc's split."""

    def __init__(self, parts: int, take: int):
        super().__init__()
        self.parts, self.take = parts, take

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.chunk(self.parts, dim=1)[self.take]

    def extra_repr(self) -> str:
        return f"parts={self.parts}, take={self.take}"`,
  },
  shuffle: {
    layer: (node, ctx) => {
      // Always written out: ChannelShuffle(1) would hide that the layer is there.
      const g = ctx.groups(node, node.attrs.groups, "shuffle groups");
      return module("ChannelShuffle", g.length ? [{ v: g[0]!.v }] : [{ v: lit(1, "groups") }]);
    },
    stateDict: none,
    pythonClass: `class ChannelShuffle(nn.Module):
    """ShuffleNet's channel shuffle, exactly torchvision's channel_shuffle."""

    def __init__(self, groups: int):
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        return x.view(n, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(n, c, h, w)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"`,
  },
  upsample: {
    layer: (node) =>
      module("nn.Upsample", [
        { key: "scale_factor", v: lit(pair(node.attrs.factor), "scale_factor") },
        { key: "mode", v: lit("nearest", "mode") },
      ]),
    stateDict: none,
    pythonClass: null,
  },
  gap: {
    layer: () => inline((ins) => `${ins[0]}.mean((2, 3))`),
    stateDict: none,
    pythonClass: null,
  },
  gmp: {
    layer: () => inline((ins) => `${ins[0]}.amax((2, 3))`),
    stateDict: none,
    pythonClass: null,
  },
  // Keras flattens channels-last: the dense weights expect that order.
  flatten: {
    layer: () => inline((ins) => `${ins[0]}.permute(0, 2, 3, 1).flatten(1)`),
    stateDict: none,
    pythonClass: null,
  },
  add: {
    layer: () => inline((ins) => ins.join(" + ")),
    stateDict: none,
    pythonClass: null,
  },
  mul: {
    layer: (node, ctx) =>
      inline((ins) => {
        // A [c] gate is [N, c] here: give it two axes of size 1 to scale an NCHW image.
        const image = node.shape.length === 3;
        const gate = (id: number) => image && ctx.graph.nodes[id]!.shape.length === 1;
        return ins
          .map((v, k) => (gate(node.inputs[k]!) ? `${v}[:, :, None, None]` : v))
          .join(" * ");
      }),
    stateDict: none,
    pythonClass: null,
  },
  concat: {
    layer: () => inline((ins) => `torch.cat([${ins.join(", ")}], dim=1)`),
    stateDict: none,
    pythonClass: null,
  },
};

function convolution(node: NodeOf<"conv" | "sepconv">, ctx: LayerContext): TorchLayer {
  {
    const a = node.attrs;
    const args: Arg[] = [
      { v: lit(ctx.channelsIn(node), "in_channels") },
      { v: lit(a.filters, "filters") },
      { v: lit(pair(a.kernel), "kernel_size") },
    ];
    args.push(optional("stride", pair(a.strides), 1));
    args.push(optional("padding", a.padding, "valid"));
    args.push(optional("dilation", pair(a.dilation), 1));
    args.push(...ctx.groups(node, a.groups));
    if (node.op === "sepconv") {
      const s = node.attrs;
      args.push(optional("multiplier", s.multiplier, 1));
      args.push(...ctx.activation(node, "mid", s.mid));
      args.push(optional("order", s.order, "spatial_first"));
    }
    args.push(optional("bias", a.useBias, true));
    args.push(...ctx.activation(node, "activation", a.activation));
    if (a.pads) args.push({ key: "pad", v: lit(a.pads, "pad") });
    return module(node.op === "conv" ? "Conv2d" : "SeparableConv2d", args);
  }
}

function pool(node: NodeOf<"maxpool" | "avgpool">, callee: string): TorchLayer {
  const a = node.attrs;
  const args: Arg[] = [{ v: lit(pair(a.pool), "pool") }, { v: lit(pair(a.strides), "stride") }];
  // Positional, and then left out only where every instance pools 'valid': `pad` is keyword.
  args.push({ v: lit(a.padding, "padding"), default: "valid" });
  if (a.pads) args.push({ key: "pad", v: lit(a.pads, "pad") });
  args.push(optional("ceil", a.ceil === true, false));
  return module(callee, args);
}
