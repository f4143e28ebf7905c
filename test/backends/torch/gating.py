"""Checks archc's generated PyTorch module for a squeeze-and-excitation net against torchvision's
own SqueezeExcitation and nn.Hardswish, on the same weights (test/backends/torch/gating.test.ts).

usage: gating.py MODULE.py   (prints one JSON line: max abs diffs and the output scale)

The module is `n` of gating.test.ts: hard_swish, then an SE block written with a pool and 1x1
convolutions (torchvision's own layers), then one written with gap and dense (a Linear's weight
is a 1x1 convolution's, reshaped).
"""
import importlib.util
import json
import sys

import torch
from torch import nn
from torchvision.ops import SqueezeExcitation


def main():
    spec = importlib.util.spec_from_file_location("m", sys.argv[1])
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    torch.manual_seed(0)
    torch.set_num_threads(2)
    model = mod.N().eval()
    with torch.no_grad():
        # Non-zero biases, so a dropped or misplaced bias shows.
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.uniform_(-0.5, 0.5)
    c, s = 16, 4
    se1 = SqueezeExcitation(c, s).eval()
    se2 = SqueezeExcitation(c, s).eval()
    hard = SqueezeExcitation(c, s, scale_activation=nn.Hardsigmoid).eval()
    with torch.no_grad():
        for se in (se1, hard):
            se.fc1.weight.copy_(model.conv.weight)
            se.fc1.bias.copy_(model.conv.bias)
            se.fc2.weight.copy_(model.conv_1.weight)
            se.fc2.bias.copy_(model.conv_1.bias)
        se2.fc1.weight.copy_(model.dense.weight.reshape(s, c, 1, 1))
        se2.fc1.bias.copy_(model.dense.bias)
        se2.fc2.weight.copy_(model.dense_1.weight.reshape(c, s, 1, 1))
        se2.fc2.bias.copy_(model.dense_1.bias)
        x = torch.randn(2, c, 14, 14) * 3
        y = model(x)
        ref = se2(se1(nn.Hardswish()(x)))
        # The negative control: MobileNetV3's hard-sigmoid gate is another function.
        other = se2(hard(nn.Hardswish()(x)))
    print(
        json.dumps(
            {
                "torchvision": float((y - ref).abs().max()),
                "negative_control": float((y - other).abs().max()),
                "scale": float(y.abs().max()),
            }
        )
    )


if __name__ == "__main__":
    main()
