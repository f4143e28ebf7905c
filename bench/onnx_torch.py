"""PyTorch's side of bench/onnx.ts: Xception and the continuum layer in PyTorch itself, timed
eagerly and exported with torch.onnx.export for onnxruntime-node to time as well.

usage: onnx_torch.py OUTDIR THREADS GROUPS
    GROUPS is a comma-separated list of partition counts for the continuum layer. Writes
    OUTDIR/xception_torch.onnx and OUTDIR/continuum_G.onnx, and prints JSON
    {"torch", "threads", "xception": {"b1", "b8"}, "continuum": {"G": ms}} (median ms)."""
import json
import os
import sys
import time

import torch
import torch.nn as nn


def sep(cin, cout):
    return nn.Sequential(
        nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False),
        nn.Conv2d(cin, cout, 1, bias=False),
        nn.BatchNorm2d(cout, eps=1e-3),
    )


class Block(nn.Module):
    """Xception's entry and exit blocks; the pool pads symmetrically, which costs the same."""

    def __init__(self, cin, mid, cout, first=False):
        super().__init__()
        self.skip = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=2, bias=False), nn.BatchNorm2d(cout, eps=1e-3))
        self.body = nn.Sequential(*([] if first else [nn.ReLU()]), sep(cin, mid), nn.ReLU(), sep(mid, cout),
                                  nn.MaxPool2d(3, 2, padding=1))

    def forward(self, x):
        return self.body(x) + self.skip(x)


class Middle(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(*[m for _ in range(3) for m in (nn.ReLU(), sep(728, 728))])

    def forward(self, x):
        return self.body(x) + x


def xception():
    """The same layers as specs/xception.arch (Keras applications' Xception), in NCHW."""
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, stride=2, bias=False), nn.BatchNorm2d(32, eps=1e-3), nn.ReLU(),
        nn.Conv2d(32, 64, 3, bias=False), nn.BatchNorm2d(64, eps=1e-3), nn.ReLU(),
        Block(64, 128, 128, True), Block(128, 256, 256), Block(256, 728, 728),
        *[Middle() for _ in range(8)],
        Block(728, 728, 1024),
        sep(1024, 1536), nn.ReLU(), sep(1536, 2048), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2048, 1000), nn.Softmax(-1),
    ).eval()


def timed(fn, runs):
    fn()  # warm-up: the first call allocates
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1000)
    ts.sort()
    n = len(ts)
    return ts[n // 2] if n % 2 else (ts[n // 2 - 1] + ts[n // 2]) / 2


def main(out, threads, groups):
    torch.set_num_threads(threads)
    result = {"torch": torch.__version__, "threads": torch.get_num_threads(), "xception": {}, "continuum": {}}
    model = xception()
    with torch.no_grad():
        for batch, runs in ((1, 7), (8, 3)):
            x = torch.randn(batch, 3, 299, 299)
            result["xception"][f"b{batch}"] = timed(lambda: model(x), runs)
        torch.onnx.export(model, torch.randn(1, 3, 299, 299), os.path.join(out, "xception_torch.onnx"),
                          opset_version=13, input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
        for g in groups:
            conv = nn.Conv2d(728, 728, 3, padding=1, groups=g, bias=False).eval()
            x = torch.randn(8, 728, 19, 19)
            result["continuum"][str(g)] = timed(lambda: conv(x), 5)
            torch.onnx.export(conv, x, os.path.join(out, f"continuum_{g}.onnx"), opset_version=13,
                              input_names=["input"], output_names=["output"])
    print(json.dumps(result))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(sys.argv[1], int(sys.argv[2]), [int(g) for g in sys.argv[3].split(",")])
