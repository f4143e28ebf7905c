"""The Python side of `npm run bench -- data` (bench/data.ts): one loader, one pass over a data
set, decode + resize + batch, then one JSON line: images, seconds, the CPU seconds of this process
and its DataLoader workers during the pass, and the peak resident memory of each (kB).

usage: data_loaders.py torchvision IMAGE_FOLDER WORKERS BATCH SIZE
       data_loaders.py torchvision-lanczos IMAGE_FOLDER WORKERS BATCH SIZE
       data_loaders.py archc PACK WORKERS BATCH SIZE RUNNER_DIR

torchvision-lanczos is torchvision's pipeline with the filter archc's loaders resized with
before issue 24.5 (Resize((S, S), LANCZOS)); both now resize as plain torchvision does (bilinear,
antialiased), so the default `torchvision` is the like-for-like baseline.
"""
import json
import os
import resource
import sys
import tempfile
import time

import numpy as np
import torch


def main():
    kind, path, workers, batch, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    torch.set_num_threads(1)
    if kind.startswith("torchvision"):
        from torchvision import datasets, transforms

        # Resize's default is bilinear (antialiased, on PIL images).
        interpolation = {"torchvision": transforms.InterpolationMode.BILINEAR, "torchvision-lanczos": transforms.InterpolationMode.LANCZOS}[kind]
        data = datasets.ImageFolder(path, transforms.Compose([transforms.Resize((size, size), interpolation), transforms.ToTensor()]))
        loader = torch.utils.data.DataLoader(data, batch_size=batch, shuffle=True, num_workers=workers)
        batches = (x for x, _ in loader)
    else:
        sys.path.insert(0, sys.argv[6])
        import runner

        index = json.load(open(os.path.join(path, "index.json")))
        n = index["splits"]["train"]["count"]
        indices = os.path.join(tempfile.mkdtemp(), "indices.u32")
        np.arange(n, dtype=np.uint32).tofile(indices)
        data = runner.ShardData({"dir": path, "split": "train", "indices": indices, "shape": [size, size, 3]}, workers)
        order = runner.epoch_order(n, 1, 0, True)
        batches = (x for x, _, _ in data.batches([order[a : a + batch] for a in range(0, n, batch)], torch.device("cpu")))
    def cpu():
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    cpu0 = cpu()
    t0 = time.perf_counter()
    images = 0
    for x in batches:
        images += x.shape[0]
    seconds = time.perf_counter() - t0
    # Joined workers' CPU time is counted in RUSAGE_CHILDREN: torchvision's DataLoader joins
    # them when its pass ends, the runner's data set keeps them for the next epoch until closed.
    if kind == "archc" and hasattr(data, "close"):
        data.close()
    cpu_seconds = cpu() - cpu0
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"images": images, "seconds": seconds, "cpuSeconds": cpu_seconds, "maxRssKb": own, "workerMaxRssKb": children}))


if __name__ == "__main__":
    main()
