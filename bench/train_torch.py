"""PyTorch's side of bench/train.ts: training steps of the module that `archc compile --target
torch` writes for the same IR, on the same synthetic batch shape, with the same optimiser (SGD,
momentum 0.9) and loss (cross-entropy on the softmax output, as archc's trainer computes it).

usage: train_torch.py MODULE.py CLASS H W C CLASSES BATCH THREADS STEPS WARMUP
    Prints JSON {"torch", "threads", "ms": [one entry per timed step]}."""
import importlib.util
import json
import sys
import time

import torch


def main() -> None:
    path, cls = sys.argv[1], sys.argv[2]
    h, w, c, classes, batch, threads, steps, warmup = (int(a) for a in sys.argv[3:11])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    spec = importlib.util.spec_from_file_location("archc_bench_module", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = getattr(module, cls)()
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.rand(batch, c, h, w)
    y = torch.randint(0, classes, (batch,))
    times = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        p = model(x)
        loss = torch.nn.functional.nll_loss(torch.log(p.clamp(1e-7, 1 - 1e-7)), y)
        loss.backward()
        opt.step()
        loss.item()
        if i >= warmup:
            times.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "ms": times}))


if __name__ == "__main__":
    main()
