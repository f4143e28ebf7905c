"""torchvision's channel_shuffle and nn.Upsample as oracles for archc's `shuffle` and `upsample`
(test/backends/torch/rearrange.test.ts): reads one input and the outputs of tfjs and onnxruntime
for `input HxWxC -> shuffle G1 -> upsample FHxFW -> shuffle G2 -> flatten`, and prints one JSON
line of max abs differences, with a negative control (the shuffle's inverse, view [c/g, g]).

usage: rearrange.py CASE.json
"""
import json
import sys

import numpy as np
import torch
from torch import nn

try:
    from torchvision.models.shufflenetv2 import channel_shuffle

    ORACLE = "torchvision"
except ImportError:
    # CI installs python3-torch only: torchvision's definition, verbatim (shufflenetv2.py).
    ORACLE = "torchvision's definition"

    def channel_shuffle(x, groups):
        batchsize, num_channels, height, width = x.size()
        channels_per_group = num_channels // groups
        x = x.view(batchsize, groups, channels_per_group, height, width)
        x = torch.transpose(x, 1, 2).contiguous()
        return x.view(batchsize, -1, height, width)


def main():
    case = json.load(open(sys.argv[1]))
    h, w, c = case["input_shape"]
    x = np.fromfile(case["input"], dtype=np.float32).reshape(case["batch"], h, w, c)
    x = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()

    def run(groups):
        y = channel_shuffle(x, groups[0])
        y = nn.Upsample(scale_factor=tuple(case["factor"]), mode="nearest")(y)
        y = channel_shuffle(y, groups[1])
        return y.permute(0, 2, 3, 1).flatten(1).reshape(-1).numpy()

    g1, g2 = case["groups"]
    y = run((g1, g2))
    # The inverse permutation: what a shuffle read the wrong way round (NHWC as [c/g, g]) gives.
    wrong = run((c // g1, c // g2))
    out = {"oracle": ORACLE}
    for ref in ("tfjs", "onnxruntime"):
        r = np.fromfile(case[ref], dtype=np.float32)
        out[ref] = float(np.abs(r - y).max()) if r.size == y.size else float("inf")
        out[ref + "_inverse"] = float(np.abs(r - wrong).max()) if r.size == y.size else float("inf")
    # The official checker on each exported model (CI installs python3-onnx).
    import onnx

    for path in case["onnx"]:
        onnx.checker.check_model(onnx.load(path), full_check=True)
    out["checked"] = len(case["onnx"])
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
