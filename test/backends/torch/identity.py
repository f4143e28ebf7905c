"""Runs archc's generated PyTorch modules on weights and inputs archc wrote, and prints how far
their outputs are from tfjs' and onnxruntime's (test/backends/torch/identity.test.ts).

usage: identity.py CASES.json   (one JSON line of max abs diffs per case)
"""
import importlib.util
import json
import sys

import numpy as np
import torch


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main():
    cases = json.load(open(sys.argv[1]))
    torch.set_num_threads(2)
    for case in cases:
        mod = load(case["module"], "m_" + case["name"])
        if case.get("naive_padding"):
            # The negative control: PyTorch-style symmetric thinking, the odd pixel before.
            mod.same_padding = lambda size, k, s, d=1, f=mod.same_padding: tuple(reversed(f(size, k, s, d)))
        model = getattr(mod, case["class"])(**case["kwargs"])
        mod.load_weights(model, case["weights"])
        if case.get("logits"):
            model.get_submodule(case["logits"]).activation = mod.Activation("none")
        model.eval()
        shape = case["input_shape"]
        x = np.fromfile(case["input"], dtype=np.float32).reshape(shape)
        with torch.no_grad():
            y = model(torch.from_numpy(x).permute(0, 3, 1, 2).contiguous())
        if y.dim() == 4:
            y = y.permute(0, 2, 3, 1)
        y = y.reshape(-1).numpy()
        out = {"name": case["name"], "elements": int(y.size), "scale": float(np.abs(y).max())}
        for ref in ("tfjs", "onnxruntime"):
            r = np.fromfile(case[ref], dtype=np.float32)
            out[ref] = float(np.abs(r - y).max()) if r.size == y.size else float("inf")
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
