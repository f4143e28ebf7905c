"""PyTorch's side of `npm run bench -- onnx`: Xception and the continuum layer in PyTorch itself,
timed in PyTorch and exported with torch.onnx.export for onnxruntime to time.

usage: onnx_torch.py OUTDIR  -> prints JSON {"xception": {...}, "continuum": {...}}"""
import json
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(os.cpu_count() or 1)


class SamePad(nn.Module):
    """TensorFlow 'same' padding (extra pixel bottom/right), as archc's ONNX export uses."""

    def __init__(self, k, s):
        super().__init__()
        self.k, self.s = k, s

    def forward(self, x):
        h, w = x.shape[-2:]
        ph = max((-(-h // self.s) - 1) * self.s + self.k - h, 0)
        pw = max((-(-w // self.s) - 1) * self.s + self.k - w, 0)
        return F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))


def sep(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False), nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout, eps=1e-3))


class Block(nn.Module):
    def __init__(self, cin, cout, first=False):
        super().__init__()
        self.skip = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=2, bias=False), nn.BatchNorm2d(cout, eps=1e-3))
        self.body = nn.Sequential(*([] if first else [nn.ReLU()]), sep(cin, cout), nn.ReLU(), sep(cout, cout), SamePad(3, 2), nn.MaxPool2d(3, 2))

    def forward(self, x):
        return self.body(x) + self.skip(x)


class Middle(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(*[m for _ in range(3) for m in (nn.ReLU(), sep(728, 728))])

    def forward(self, x):
        return self.body(x) + x


class Exit(nn.Module):
    def __init__(self):
        super().__init__()
        self.skip = nn.Sequential(nn.Conv2d(728, 1024, 1, stride=2, bias=False), nn.BatchNorm2d(1024, eps=1e-3))
        self.body = nn.Sequential(nn.ReLU(), sep(728, 728), nn.ReLU(), sep(728, 1024), SamePad(3, 2), nn.MaxPool2d(3, 2))

    def forward(self, x):
        return self.body(x) + self.skip(x)


def xception():
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, stride=2, bias=False), nn.BatchNorm2d(32, eps=1e-3), nn.ReLU(),
        nn.Conv2d(32, 64, 3, bias=False), nn.BatchNorm2d(64, eps=1e-3), nn.ReLU(),
        Block(64, 128, True), Block(128, 256), Block(256, 728), *[Middle() for _ in range(8)], Exit(),
        sep(1024, 1536), nn.ReLU(), sep(1536, 2048), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2048, 1000), nn.Softmax(-1),
    ).eval()


def timed(fn, runs):
    fn()
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1000)
    return sorted(ts)[len(ts) // 2]


def main(out):
    result = {"torch": torch.__version__, "threads": torch.get_num_threads(), "xception": {}, "continuum": {}}
    model = xception()
    result["xception"]["params"] = sum(p.numel() for p in model.parameters()) + sum(b.numel() for n, b in model.named_buffers() if "num_batches" not in n)
    with torch.no_grad():
        for batch in (1, 8):
            x = torch.randn(batch, 3, 299, 299)
            result["xception"][f"torch_b{batch}_ms"] = timed(lambda: model(x), 5 if batch == 1 else 3)
    torch.onnx.export(model, torch.randn(1, 3, 299, 299), os.path.join(out, "xception_torch.onnx"), opset_version=13, input_names=["input"], output_names=["output"], dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    for g in (1, 2, 4, 7, 8, 14, 28, 56, 91, 182, 364, 728):
        conv = nn.Conv2d(728, 728, 3, padding=1, groups=g, bias=False).eval()
        x = torch.randn(8, 728, 19, 19)
        with torch.no_grad():
            result["continuum"][str(g)] = {"torch_ms": timed(lambda: conv(x), 5)}
        torch.onnx.export(conv, x, os.path.join(out, f"continuum_torch_{g}.onnx"), opset_version=13, input_names=["input"], output_names=["output"])
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1])
