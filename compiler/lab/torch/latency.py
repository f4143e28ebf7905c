"""Times forward passes of an archc-generated PyTorch module the way archc's tfjs timing does
(compiler/backends/tfjs/timing.ts): untimed warm-up passes, then the median, fastest and slowest
of the timed ones, on random input, in inference mode. Reads a job (JSON) from argv[1] and prints
one JSON line: {"medianMs", "minMs", "maxMs", "device", "threads"}."""

import importlib.util
import json
import sys
import time

import torch


def main():
    job = json.load(open(sys.argv[1]))
    if job.get("threads"):
        torch.set_num_threads(job["threads"])
    cuda = torch.cuda.is_available() and not job.get("cpu")
    device = torch.device("cuda" if cuda else "cpu")
    spec = importlib.util.spec_from_file_location("archc_model", job["module"])
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    torch.manual_seed(0)
    model = getattr(mod, job["class"])().to(device).eval()
    h, w, c = job["input"]
    # The generated module takes NCHW, as the runner feeds it.
    x = torch.randn(job["batch"], c, h, w, device=device)
    times = []
    with torch.inference_mode():
        for i in range(job["warmup"] + job["runs"]):
            t0 = time.perf_counter()
            model(x)
            if cuda:
                torch.cuda.synchronize()
            dt = (time.perf_counter() - t0) * 1000
            if i >= job["warmup"]:
                times.append(dt)
    times.sort()
    n = len(times)
    median = times[n // 2] if n % 2 else (times[n // 2 - 1] + times[n // 2]) / 2
    print(
        json.dumps(
            {
                "medianMs": round(median, 3),
                "minMs": round(times[0], 3),
                "maxMs": round(times[-1], 3),
                "device": str(device),
                "threads": torch.get_num_threads(),
            }
        )
    )


if __name__ == "__main__":
    main()
