"""PyTorch's side of bench/train.ts: training steps of the module that `archc compile --target
torch` writes for the same IR, on the same synthetic batch shape, with the same optimiser (SGD,
momentum 0.9) and loss (cross-entropy on the softmax output, as archc's trainer computes it).

usage: train_torch.py MODULE.py CLASS H W C CLASSES BATCH THREADS
    Prints one JSON line {"torch", "threads"} once the model is built, then serves stdin: each
    line "N" runs N training steps and answers one JSON line {"ms": [...], "cpu_ms": [...]}, an
    entry per step (wall-clock, and CPU time of every thread of this process). The process stays
    up between requests, so the bench alternates it with archc round by round without paying
    torch's import and first-step set-up again, and warm-up steps are simply steps it discards.
    It ends at end of input, and with its parent (Linux's parent-death signal): a bench child
    killed for a timeout must not leave a PyTorch step running for minutes."""
import ctypes
import json
import signal
import sys
import time


def die_with_parent() -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: end of input still ends it


def main() -> None:
    die_with_parent()
    import importlib.util

    import torch

    path, cls = sys.argv[1], sys.argv[2]
    h, w, c, classes, batch, threads = (int(a) for a in sys.argv[3:9])
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

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        p = model(x)
        loss = torch.nn.functional.nll_loss(torch.log(p.clamp(1e-7, 1 - 1e-7)), y)
        loss.backward()
        opt.step()
        loss.item()

    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        ms, cpu = [], []
        for _ in range(int(line)):
            c0 = time.process_time()
            t0 = time.perf_counter()
            step()
            ms.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
        print(json.dumps({"ms": ms, "cpu_ms": cpu}), flush=True)


if __name__ == "__main__":
    main()
