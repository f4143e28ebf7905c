import type { OpName } from "../../language/ir/types.js";
import { pyActivationDict } from "./activations.js";
import { torchOps } from "./ops.js";

/**
 * The layers every generated PyTorch module starts with: Keras semantics (TensorFlow's 'same'
 * padding, batch-norm momentum, channels-last flatten, the partition argument) on top of torch.nn,
 * so that the classes after them read like hand-written PyTorch. Kept in the module itself, so a
 * generated file needs nothing but torch.
 */
export const prelude = `import hashlib
import json
import math
import os
import struct
from typing import Dict, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

Pair = Union[int, Tuple[int, int]]
# Explicit padding: (top, bottom, left, right) pixels, archc's \`pad = [t, b, l, r]\`.
Pads = Tuple[int, int, int, int]


def _pair(v: Pair) -> Tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _pads_or_none(pad: Optional[Pads]) -> Optional[Pads]:
    if pad is None:
        return None
    top, bottom, left, right = (int(p) for p in pad)
    return top, bottom, left, right


def _symmetric(pad: Pads) -> bool:
    return pad[0] == pad[1] and pad[2] == pad[3]


def groups_of(parts: Union[int, str], channels: int, what: str = "parts") -> int:
    """A partition argument as a group count: 'regular' is 1, 'depthwise' one group per channel.

    'what' names the argument in errors as the spec wrote it: parts, or a shuffle's groups."""
    groups = channels if parts == "depthwise" else 1 if parts == "regular" else parts
    if isinstance(groups, int) and groups >= 1 and channels % groups == 0:
        return groups
    valid = [d for d in range(1, channels + 1) if channels % d == 0]
    if not isinstance(groups, int) or groups < 1:
        raise ValueError(f"{what} must be a positive whole number, 'regular' or 'depthwise', not {parts!r}")
    below = max(d for d in valid if d <= groups)
    above = [d for d in valid if d > groups]
    nearest = f"{below} and {above[0]}" if above else str(below)
    raise ValueError(
        f"{channels} input channels are not divisible by {what} = {parts}; the nearest valid values are {nearest}"
    )


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> Tuple[int, int]:
    """TensorFlow's 'same': the output is ceil(size / stride), and an odd total pads one more after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def pad_same(x: torch.Tensor, kernel: Pair, stride: Pair, dilation: Pair = 1, value: float = 0.0) -> torch.Tensor:
    (kh, kw), (sh, sw), (dh, dw) = _pair(kernel), _pair(stride), _pair(dilation)
    top, bottom = same_padding(x.shape[2], kh, sh, dh)
    left, right = same_padding(x.shape[3], kw, sw, dw)
    if top == bottom == left == right == 0:
        return x
    return F.pad(x, (left, right, top, bottom), value=value)


class Activation(nn.Module):
    """An activation by its archc name (Keras' spelling and constants)."""

    def __init__(self, name: str):
        super().__init__()
        if name not in _activations:
            raise ValueError(f"unknown activation {name!r}; known: {', '.join(sorted(_activations))}")
        self.name = name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _activations[self.name](x)

    def extra_repr(self) -> str:
        return repr(self.name)


${pyActivationDict()}


class Conv2d(nn.Conv2d):
    """nn.Conv2d with Keras' padding ('valid', or 'same' exactly as TensorFlow pads) and activation."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Pair,
        stride: Pair = 1,
        padding: str = "valid",
        dilation: Pair = 1,
        groups: int = 1,
        bias: bool = True,
        activation: str = "none",
        pad: Optional[Pads] = None,
    ):
        k, s, d = _pair(kernel_size), _pair(stride), _pair(dilation)
        # With stride 1 and an even total, 'same' is symmetric whatever the input size.
        symmetric = s == (1, 1) and all((ki - 1) * di % 2 == 0 for ki, di in zip(k, d))
        same = tuple((ki - 1) * di // 2 for ki, di in zip(k, d)) if padding == "same" and symmetric else 0
        # Explicit pads (top, bottom, left, right): nn.Conv2d's own padding when symmetric.
        pads = _pads_or_none(pad)
        if pads is not None and _symmetric(pads):
            same, pads = (pads[0], pads[2]), None
        super().__init__(in_channels, out_channels, k, s, same, d, groups, bias)
        self.pads = pads
        self.same = padding == "same" and not symmetric
        self.activation = Activation(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.same:
            x = pad_same(x, self.kernel_size, self.stride, self.dilation)
        elif self.pads is not None:
            top, bottom, left, right = self.pads
            x = F.pad(x, (left, right, top, bottom))
        return self.activation(super().forward(x))


class SeparableConv2d(nn.Module):
    """A spatial convolution over \`groups\` channel segments and a 1x1 pointwise one, in either order."""

    def __init__(
        self,
        in_channels: int,
        filters: int,
        kernel_size: Pair,
        stride: Pair = 1,
        padding: str = "valid",
        dilation: Pair = 1,
        groups: int = 1,
        multiplier: int = 1,
        mid: str = "none",
        order: str = "spatial_first",
        bias: bool = True,
        activation: str = "none",
        pad: Optional[Pads] = None,
    ):
        super().__init__()
        self.order = order
        spatial_in = in_channels if order == "spatial_first" else filters
        spatial_out = spatial_in * multiplier
        last_spatial = order != "spatial_first"
        self.spatial = Conv2d(
            spatial_in, spatial_out, kernel_size, stride, padding, dilation, groups, bias and last_spatial, pad=pad
        )
        self.mid = Activation(mid)
        if order == "spatial_first":
            self.pointwise = Conv2d(spatial_out, filters, 1, bias=bias)
        else:
            self.pointwise = Conv2d(in_channels, filters, 1, bias=False)
        self.activation = Activation(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.order == "spatial_first":
            x = self.pointwise(self.mid(self.spatial(x)))
        else:
            x = self.spatial(self.mid(self.pointwise(x)))
        return self.activation(x)


class BatchNorm2d(nn.BatchNorm2d):
    """Keras' BatchNormalization: its momentum m is PyTorch's 1 - m; scale / center = False drop gamma / beta."""

    def __init__(
        self, channels: int, epsilon: float = 1e-3, momentum: float = 0.99, scale: bool = True, center: bool = True
    ):
        super().__init__(channels, eps=epsilon, momentum=1.0 - momentum)
        if not scale:
            self.register_parameter("weight", None)
        if not center:
            self.register_parameter("bias", None)

    def _check_input_dim(self, input: torch.Tensor) -> None:
        # Keras normalises the last axis of images and of vectors alike.
        if input.dim() not in (2, 4):
            raise ValueError(f"expected a 2-D or 4-D input, not {input.dim()}-D")


def _pool_padding(pad: Optional[Pads], kernel: Tuple[int, int]) -> Tuple[Tuple[int, int], Optional[Pads]]:
    """Explicit pads as PyTorch pooling's own padding where it takes them (symmetric, at most half
    the window), else as pads for F.pad."""
    pads = _pads_or_none(pad)
    if pads is not None and _symmetric(pads) and pads[0] <= kernel[0] // 2 and pads[2] <= kernel[1] // 2:
        return (pads[0], pads[2]), None
    return (0, 0), pads


def _ceil_crop(y: torch.Tensor, x: torch.Tensor, kernel: Tuple[int, int], stride: Tuple[int, int], pads: Optional[Pads]) -> torch.Tensor:
    """ceil_mode over pads applied by hand: PyTorch then lets the last window start in the bottom
    or right padding, which ceil mode over its own padding does not; cut that window off."""
    if pads is None:
        return y
    sizes = []
    for size, k, s, before, after in ((x.shape[2], kernel[0], stride[0], pads[0], pads[1]), (x.shape[3], kernel[1], stride[1], pads[2], pads[3])):
        out = -(-(size + before + after - k) // s) + 1
        sizes.append(out - 1 if (out - 1) * s >= size + before else out)
    return y[:, :, : sizes[0], : sizes[1]]


class MaxPool2d(nn.Module):
    """Max pooling; padding ('same' or explicit pads) is -inf, so it never wins a window. \`ceil\`
    is PyTorch's ceil_mode."""

    def __init__(self, kernel_size: Pair, stride: Pair, padding: str = "valid", pad: Optional[Pads] = None, ceil: bool = False):
        super().__init__()
        self.kernel_size, self.stride, self.same = _pair(kernel_size), _pair(stride), padding == "same"
        self.padding, self.pads = _pool_padding(pad, self.kernel_size)
        self.ceil = ceil

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.same:
            x = pad_same(x, self.kernel_size, self.stride, value=float("-inf"))
            return F.max_pool2d(x, self.kernel_size, self.stride)
        y = x
        if self.pads is not None:
            top, bottom, left, right = self.pads
            y = F.pad(x, (left, right, top, bottom), value=float("-inf"))
        y = F.max_pool2d(y, self.kernel_size, self.stride, self.padding, ceil_mode=self.ceil)
        return _ceil_crop(y, x, self.kernel_size, self.stride, self.pads) if self.ceil else y


class AvgPool2d(nn.Module):
    """Average pooling; with 'same', TensorFlow divides by the cells inside the image only; explicit
    pads are zeros that count, as PyTorch's count_include_pad=True. \`ceil\` is PyTorch's ceil_mode,
    whose last windows divide by the input and padding they cover."""

    def __init__(self, kernel_size: Pair, stride: Pair, padding: str = "valid", pad: Optional[Pads] = None, ceil: bool = False):
        super().__init__()
        self.kernel_size, self.stride, self.same = _pair(kernel_size), _pair(stride), padding == "same"
        self.padding, self.pads = _pool_padding(pad, self.kernel_size)
        self.ceil = ceil

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.same:
            y = x
            if self.pads is not None:
                top, bottom, left, right = self.pads
                y = F.pad(x, (left, right, top, bottom))
            y = F.avg_pool2d(y, self.kernel_size, self.stride, self.padding, ceil_mode=self.ceil, count_include_pad=True)
            return _ceil_crop(y, x, self.kernel_size, self.stride, self.pads) if self.ceil else y
        ones = torch.ones_like(x[:, :1])
        total = F.avg_pool2d(pad_same(x, self.kernel_size, self.stride), self.kernel_size, self.stride)
        share = F.avg_pool2d(pad_same(ones, self.kernel_size, self.stride), self.kernel_size, self.stride)
        return total / share


class Dense(nn.Linear):
    def __init__(self, in_features: int, units: int, bias: bool = True, activation: str = "none"):
        super().__init__(in_features, units, bias)
        self.activation = Activation(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(super().forward(x))


def load_weights(model: nn.Module, path: str) -> nn.Module:
    """Loads a .safetensors file archc wrote (\`archc compile --target torch --weights DIR\`), checked
    whole first: a file cut short or damaged (its archc_sha256 checksum covers names, shapes and
    data), non-finite values, or weights of another network are a ValueError naming the file, and
    the model is left as it was."""
    if not os.path.isfile(path):
        raise ValueError(f"{path} is not a regular file")
    with open(path, "rb") as f:
        data = f.read()
    size = struct.unpack("<Q", data[:8])[0] if len(data) >= 8 else -1
    if size < 2 or size > len(data) - 8:
        raise ValueError(f"{path} is not a safetensors file, or is cut short")
    try:
        header = json.loads(data[8 : 8 + size].decode("utf-8"))
        meta = header.pop("__metadata__", {})
    except (UnicodeDecodeError, ValueError, AttributeError):
        raise ValueError(f"{path} is damaged: its header is not a JSON object")
    body = data[8 + size :]
    digest = hashlib.sha256()
    for k in sorted(meta):
        if k != "archc_sha256":
            digest.update(f"{k}\\0{meta[k]}\\0".encode())
    expected = model.state_dict()
    state: Dict[str, torch.Tensor] = {}
    for name in sorted(header):
        t = header[name]
        if not isinstance(t, dict) or t.get("dtype") != "F32":
            raise ValueError(f"{path}: {name} is not F32 (archc writes F32 only)")
        (start, end), shape = t["data_offsets"], t["shape"]
        if end - start != 4 * math.prod(shape) or not 0 <= start <= end <= len(body):
            raise ValueError(f"{path} is damaged: {name} does not fit its offsets")
        digest.update(f"{name}\\0F32\\0{','.join(str(d) for d in shape)}\\0".encode())
        digest.update(body[start:end])
        value = torch.frombuffer(bytearray(body[start:end]), dtype=torch.float32).reshape(shape)
        if name in expected and tuple(expected[name].shape) != tuple(shape):
            raise ValueError(f"{path} holds {name} with shape {list(shape)}, this network's is {list(expected[name].shape)}")
        if not torch.isfinite(value).all():
            raise ValueError(f"{path} holds non-finite values in {name}")
        state[name] = value
    if "archc_sha256" in meta and meta["archc_sha256"] != digest.hexdigest():
        raise ValueError(f"{path} is damaged: its contents do not match the checksum written with it")
    missing = [k for k in expected if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        raise ValueError(f"{path} does not fit this network: missing {missing[:3]}, unexpected {unexpected[:3]}")
    model.load_state_dict(state, strict=False)
    return model
`;

/**
 * The classes beyond the prelude (each op's `pythonClass` in ops.ts) of the ops `used` accepts, all
 * by default: a class is written only where the network uses its op, so that modules without
 * them stay as they were.
 */
export function optionalLayerTexts(used: (op: OpName) => boolean = () => true): string[] {
  return (Object.entries(torchOps) as [OpName, { pythonClass: string | null }][]).flatMap(
    ([op, { pythonClass }]) => (pythonClass !== null && used(op) ? [pythonClass] : []),
  );
}
