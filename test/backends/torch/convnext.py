"""archc's generated DropPath in training against torchvision's StochasticDepth(p, "row")
(test/backends/torch/convnext.test.ts): both seeded alike draw the same examples to drop, and
rescale the rest alike; in eval mode both are the identity.

usage: convnext.py MODULE.py   (prints one JSON line)
"""
import importlib.util
import json
import sys

import torch
from torchvision.ops import StochasticDepth


def main():
    spec = importlib.util.spec_from_file_location("generated", sys.argv[1])
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    x = torch.randn(512, 3, 2, 2)
    out = {}
    for tag, rate in (("off", 0.0), ("on", 0.3)):
        ours, theirs = mod.DropPath(rate).train(), StochasticDepth(rate, "row").train()
        torch.manual_seed(5)
        a = ours(x)
        torch.manual_seed(5)
        b = theirs(x)
        out[f"train_{tag}"] = float((a - b).abs().max())
        out[f"dropped_{tag}"] = float((a.flatten(1).abs().sum(1) == 0).float().mean())
        out[f"eval_{tag}"] = float((ours.eval()(x) - x).abs().max())
    # The generated network in training mode: two seeded runs agree, another seed differs.
    net = next(getattr(mod, n) for n in dir(mod) if n.lower() == "convnextsmall")().train()
    y = torch.randn(4, 3, 16, 16)
    runs = []
    for seed in (1, 1, 2):
        torch.manual_seed(seed)
        runs.append(net(y))
    out["same_seed"] = float((runs[0] - runs[1]).abs().max())
    out["other_seed"] = float((runs[0] - runs[2]).abs().max())
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
