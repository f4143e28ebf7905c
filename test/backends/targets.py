"""Runs generated PyTorch modules for test/backends/targets.ts: imports each, loads its weights
with the module's own load_weights, runs forward on the input onnxruntime was given and compares.

usage: targets.py CASES.json   (one JSON line per case: {"name", "diff"} or {"name", "error"})

Nothing a module does may leave builtins.INJECTED set or a file named PWNED in the working
folder; each case is caught on its own, so one broken module names itself and the rest still run.
"""
import builtins
import importlib.util
import json
import os
import sys
import traceback

import torch


def run(case, i):
    spec = importlib.util.spec_from_file_location(f"generated_{i}", case["module"])
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    net = getattr(mod, case["class"])()
    mod.load_weights(net, case["weights"])
    net.eval()
    n, h, w, c = case["input_shape"]
    with open(case["input"], "rb") as f:
        x = torch.frombuffer(bytearray(f.read()), dtype=torch.float32).reshape(n, h, w, c)
    with torch.no_grad():
        y = net(x.permute(0, 3, 1, 2).contiguous())
    if y.dim() == 4:
        y = y.permute(0, 2, 3, 1)
    with open(case["onnxruntime"], "rb") as f:
        ort = torch.frombuffer(bytearray(f.read()), dtype=torch.float32)
    y = y.reshape(-1)
    if y.numel() != ort.numel():
        raise ValueError(f"{y.numel()} outputs, onnxruntime gave {ort.numel()}")
    if not bool(torch.isfinite(y).all()) and bool(torch.isfinite(ort).all()):
        raise ValueError("non-finite outputs where onnxruntime's are finite")
    finite = torch.isfinite(y) & torch.isfinite(ort)
    diff = float((y[finite] - ort[finite]).abs().max()) if bool(finite.any()) else 0.0
    scale = float(ort[finite].abs().max()) if bool(finite.any()) else 0.0
    if diff > 1e-3 * max(1.0, scale):
        raise ValueError(f"differs from onnxruntime by {diff} (outputs up to {scale})")
    return diff


def main():
    torch.set_num_threads(1)
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    for i, case in enumerate(cases):
        record = {"name": case["name"]}
        try:
            record["diff"] = run(case, i)
        except BaseException as e:  # a SyntaxError or SystemExit from a module is its failure
            record["error"] = "".join(traceback.format_exception_only(type(e), e)).strip()[-2000:]
        if getattr(builtins, "INJECTED", None) is not None:
            record["error"] = "the module set builtins.INJECTED"
        if os.path.exists("PWNED"):
            record["error"] = "the module created a file named PWNED"
        print(json.dumps(record), flush=True)


main()
