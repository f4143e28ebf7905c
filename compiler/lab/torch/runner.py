"""archc's torch engine: trains a module archc generated (`--target torch`) as archc's embedded
trainer does, on data archc prepared, and reports to archc on standard output, one JSON object a
line. Launched by `archc train --engine torch`; under torchrun (`--nproc N`) every process runs
this file, with DistributedDataParallel (gloo on CPU, NCCL on GPU), a DistributedSampler over
each epoch's order, batch norm synchronised across processes (so N processes compute what one
does on the same global batch) and rank 0 alone writing the run folder.

usage: runner.py JOB.json   (the job's fields: see compiler/lab/torch/engine.ts)
"""
import importlib.util
import json
import math
import os
import signal
import struct
import sys
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.utils.data.distributed import DistributedSampler

# ---------------------------------------------------------------------------------------------
# The embedded trainer's randomness (compiler/lab/train/data/random.ts), so that both engines see
# the same order of examples in every epoch.

M32 = 0xFFFFFFFF


def mix32(x):
    z = x & M32
    z = ((z ^ (z >> 16)) * 0x85EBCA6B) & M32
    z = ((z ^ (z >> 13)) * 0xC2B2AE35) & M32
    return (z ^ (z >> 16)) & M32


def to_uint32(seed):
    if -0x80000000 <= seed < 2**32:
        return seed & M32
    hi = seed // 2**32
    return ((seed - hi * 2**32) ^ mix32(hi & M32)) & M32


def derive_seed(*parts):
    h = 0x243F6A88
    for p in parts:
        h = mix32(((h ^ to_uint32(p)) + 0x9E3779B9) & M32)
    return h


def epoch_order(size, seed, epoch, shuffle):
    order = list(range(size))
    if not shuffle:
        return order
    s = to_uint32(derive_seed(seed, epoch))
    for i in range(size - 1, 0, -1):
        s = (s + 0x9E3779B9) & M32
        j = int(mix32(s) / 4294967296 * (i + 1))
        order[i], order[j] = order[j], order[i]
    return order


def learning_rate(base, schedule, epochs, samples, steps):
    if schedule["kind"] == "constant":
        return base
    done = {"epochs": epochs, "samples": samples, "steps": steps}[schedule["every"]["unit"]]
    return base * schedule["rate"] ** math.floor(done / schedule["every"]["amount"])


# ---------------------------------------------------------------------------------------------
# Optimizers as TensorFlow defines them


class TfRMSprop(torch.optim.Optimizer):
    """tf.train.rmsprop: epsilon inside the square root and the rate inside the momentum."""

    def __init__(self, params, lr, rho, momentum, epsilon):
        super().__init__(params, dict(lr=lr, rho=rho, momentum=momentum, epsilon=epsilon))

    @torch.no_grad()
    def step(self):
        for g in self.param_groups:
            for p in g["params"]:
                if p.grad is None:
                    continue
                st = self.state[p]
                if not st:
                    st["ms"] = torch.ones_like(p)
                    st["mom"] = torch.zeros_like(p)
                ms, mom = st["ms"], st["mom"]
                ms.mul_(g["rho"]).addcmul_(p.grad, p.grad, value=1 - g["rho"])
                mom.mul_(g["momentum"]).add_(g["lr"] * p.grad / torch.sqrt(ms + g["epsilon"]))
                p.sub_(mom)


def make_optimizer(params, o):
    if o["kind"] == "sgd":
        return torch.optim.SGD(params, lr=o["lr"], momentum=o["momentum"], nesterov=o["nesterov"])
    if o["kind"] == "rmsprop":
        return TfRMSprop(params, o["lr"], o["rho"], o["momentum"], o["epsilon"])
    return torch.optim.Adam(params, lr=o["lr"], betas=(o["beta1"], o["beta2"]), eps=o["epsilon"])


# ---------------------------------------------------------------------------------------------
# Batch norm across processes


def synced_batch_norm(bn):
    """Makes a batch norm take its statistics over every process's part of the global batch,
    through the differentiable all_reduce (nn.SyncBatchNorm is CUDA-only)."""
    from torch.distributed.nn.functional import all_reduce

    def forward(x):
        if not bn.training:
            return F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps)
        dims = [0, 2, 3] if x.dim() == 4 else [0]
        c = x.shape[1]
        count = torch.tensor([x.numel() / c], dtype=x.dtype, device=x.device)
        stats = all_reduce(torch.cat([x.sum(dims), (x * x).sum(dims), count]))
        n = stats[-1]
        mean = stats[:c] / n
        var = stats[c : 2 * c] / n - mean * mean
        with torch.no_grad():
            bn.running_mean.mul_(1 - bn.momentum).add_(bn.momentum * mean)
            bn.running_var.mul_(1 - bn.momentum).add_(bn.momentum * var * n / max(n - 1, 1))
            bn.num_batches_tracked.add_(1)
        shape = [1, c] + [1] * (x.dim() - 2)
        y = (x - mean.view(shape)) * torch.rsqrt(var.view(shape) + bn.eps)
        if bn.weight is not None:
            y = y * bn.weight.view(shape)
        if bn.bias is not None:
            y = y + bn.bias.view(shape)
        return y

    bn.forward = forward


# ---------------------------------------------------------------------------------------------
# Precise BN (pycls' compute_precise_bn_stats), as compiler/lab/train/preciseBn.ts does it

PRECISE_BN_STREAM = 0x626E


@torch.no_grad()
def recalibrate_batch_norm(model, net, train, job, epoch, device, world, rank):
    """Sets every batch norm's running mean and variance to those of its input over
    job["preciseBnImages"] training examples (a seeded draw per epoch, the embedded trainer's),
    seen in training mode in the run's batch size, dropout off. Every process runs its share of
    each batch, so synchronised batch norms see the global batch; the sums are reduced."""
    images = job.get("preciseBnImages", 0)
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not images or not bns:
        return
    sums = {}

    def hook(bn):
        def record(module, inputs):
            x = inputs[0].detach().double()
            dims = [d for d in range(x.dim()) if d != 1]
            s = sums.setdefault(bn, torch.zeros(3, x.shape[1], dtype=torch.float64, device=x.device))
            s[0] += x.sum(dims)
            s[1] += (x * x).sum(dims)
            s[2] += x.numel() / x.shape[1]

        return record

    handles = [bn.register_forward_pre_hook(hook(bn)) for bn in bns]
    dropouts = [m for m in model.modules() if isinstance(m, nn.modules.dropout._DropoutNd)]
    for d in dropouts:
        d.eval()
    batch, local_batch = job["batch"], job["batch"] // world
    order = epoch_order(train.n, derive_seed(job["seed"], PRECISE_BN_STREAM), epoch, True)
    try:
        for a in range(0, min(images, train.n), batch):
            chunk = order[a : min(a + batch, train.n)]
            mine = chunk[rank * local_batch : (rank + 1) * local_batch] if world > 1 else chunk
            x, _ = train.batch(mine, device)
            net(x)
    finally:
        for h in handles:
            h.remove()
        for d in dropouts:
            d.train()
    for bn in bns:
        s = sums[bn]
        if world > 1:
            dist.all_reduce(s)
        mean = s[0] / s[2]
        bn.running_mean.copy_(mean.to(bn.running_mean.dtype))
        bn.running_var.copy_((s[1] / s[2] - mean * mean).clamp_min(0).to(bn.running_var.dtype))


# ---------------------------------------------------------------------------------------------
# Files


def read_safetensors(path):
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[a:b]), dtype=torch.float32).reshape(t["shape"])
    return out


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    offset = 0
    names = sorted(tensors)
    blobs = []
    for name in names:
        b = tensors[name].detach().cpu().float().contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    head = json.dumps(header).encode()
    head += b" " * ((8 - (8 + len(head)) % 8) % 8)
    atomic(path, lambda f: (f.write(struct.pack("<Q", len(head))), f.write(head), [f.write(b) for b in blobs]))


def atomic(path, write):
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class Data:
    """Images archc decoded: [n, h, w, c] float32 in [0, 1] and int32 labels, memory-mapped."""

    def __init__(self, spec):
        self.n = spec["size"]
        self.x = np.memmap(spec["x"], dtype=np.float32, mode="r", shape=(self.n, *spec["shape"]))
        self.y = np.memmap(spec["y"], dtype=np.int32, mode="r", shape=(self.n,))

    def batch(self, idx, device):
        idx = np.asarray(idx, dtype=np.int64)
        x = torch.from_numpy(np.ascontiguousarray(self.x[idx])).permute(0, 3, 1, 2).contiguous()
        return x.to(device), torch.from_numpy(np.asarray(self.y[idx], dtype=np.int64)).to(device)


# ---------------------------------------------------------------------------------------------
# Training


def emit(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)


def main():
    job = json.load(open(sys.argv[1]))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available() and not job.get("cpu")
    device = torch.device(f"cuda:{local}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
    if world > 1:
        dist.init_process_group("nccl" if cuda else "gloo")
    lead = rank == 0
    if job.get("threads"):
        torch.set_num_threads(job["threads"])

    stop = {"asked": False}

    def ask_stop(signum, frame):
        if stop["asked"] and lead:
            emit("log", message="stopping now")
            os._exit(130)
        stop["asked"] = True

    signal.signal(signal.SIGINT, ask_stop)
    signal.signal(signal.SIGTERM, ask_stop)

    spec = importlib.util.spec_from_file_location("archc_model", job["module"])
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    model = getattr(mod, job["class"])()
    out_dir = job["outDir"]
    ckpt_path = job["checkpoint"]
    resume = job["resume"] and os.path.exists(ckpt_path)
    ckpt = torch.load(ckpt_path, map_location="cpu") if resume else None
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
    else:
        mod.load_weights(model, job["initialWeights"])
    model.to(device)
    # Keras' weight decay: rate * sum of squares of every kernel (not of biases or batch norms).
    kernels = [m.weight for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    if world > 1:
        for bn in bns:
            synced_batch_norm(bn)
    net = nn.parallel.DistributedDataParallel(model) if world > 1 else model
    cfg = job["config"]
    optimizer = make_optimizer(model.parameters(), cfg["optimizer"])
    state = {"epoch": 0, "batch": 0, "step": 0, "samples": 0}
    history = []
    if ckpt is not None:
        history = ckpt["history"]
        optimizer.load_state_dict(ckpt["optimizer"])
        state = ckpt["state"]
        # Rank 0's dropout stream continues exactly; the others' restart from (seed, step, rank).
        torch.set_rng_state(ckpt["rng"])
        if rank:
            torch.manual_seed(derive_seed(job["seed"], state["step"], rank))
    else:
        torch.manual_seed(derive_seed(job["seed"], 0, rank))

    train, val = Data(job["train"]), (Data(job["val"]) if job.get("val") else None)
    classes, batch, seed = job["classes"], job["batch"], job["seed"]
    if batch % world:
        raise SystemExit(f"the batch ({batch}) must be a multiple of the processes ({world})")
    local_batch = batch // world
    smoothing = cfg["labelSmoothing"]
    eps = 1e-7

    def loss_of(out, y):
        target = F.one_hot(y, classes).float()
        if smoothing > 0:
            target = target * (1 - smoothing) + smoothing / classes
        if job["probabilities"]:
            return -(target * torch.log(out.clamp(eps, 1 - eps))).sum(1).mean()
        return -(target * F.log_softmax(out, 1)).sum(1).mean()

    def evaluate():
        model.eval()
        total, correct, seen = 0.0, 0.0, 0
        with torch.no_grad():
            for a in range(0, val.n, batch):
                x, y = val.batch(range(a, min(a + batch, val.n)), device)
                out = model(x)
                total += loss_of(out, y).item() * len(y)
                correct += (out.argmax(1) == y).float().sum().item()
                seen += len(y)
        model.train()
        return total / max(seen, 1), correct / max(seen, 1)

    def save_checkpoint():
        if not lead:
            return
        payload = {
            "format": "archc-torch-checkpoint",
            "version": 1,
            "state": state,
            "history": history,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "rng": torch.get_rng_state(),
        }
        tmp = f"{ckpt_path}.tmp"
        torch.save(payload, tmp)
        os.replace(tmp, ckpt_path)
        weights = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
        write_safetensors(os.path.join(out_dir, "weights.safetensors"), weights, {"network": job["network"]})

    batches = math.ceil(train.n / batch)
    model.train()
    interrupted = False
    emit("start", rank=rank, world=world, device=str(device), torch=torch.__version__, startEpoch=state["epoch"], history=history)
    for epoch in range(state["epoch"], job["epochs"]):
        skip = state["batch"] if epoch == state["epoch"] else 0
        # A resumed epoch's time is the training time its checkpoint counted plus this run's, so
        # its throughput is images over the time that trained them (not over this run's alone).
        t0 = time.perf_counter() - (state.get("seconds", 0.0) if skip else 0.0)
        # A run resumed inside an epoch continues that epoch's sums: its metrics come out whole.
        sums = torch.tensor(state.get("sums", [0.0, 0.0, 0.0]) if skip else [0.0, 0.0, 0.0], dtype=torch.float64)
        order = epoch_order(train.n, seed, epoch, True)
        # Each process takes every world-th example of each global batch, as DistributedSampler
        # deals them out; over the epoch's order, one global batch is the same examples as in one
        # process.
        sampler = DistributedSampler(order, num_replicas=world, rank=rank, shuffle=False) if world > 1 else None
        mine = [order[i] for i in sampler] if sampler is not None else order
        for index in range(skip, batches):
            step_start = time.perf_counter()
            idx = mine[index * local_batch : (index + 1) * local_batch]
            lr = learning_rate(cfg["optimizer"]["lr"], cfg["schedule"], epoch, state["samples"], state["step"])
            for g in optimizer.param_groups:
                g["lr"] = lr
            x, y = train.batch(idx, device)
            out = net(x)
            loss = loss_of(out, y)
            if cfg["weightDecay"] > 0:
                loss = loss + cfg["weightDecay"] * sum((k * k).sum() for k in kernels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            k = len(y)
            acc = (out.detach().argmax(1) == y).float().mean().item()
            # archc asks for a stop by creating the stop file (signals work too, e.g. from a
            # scheduler); every process stops at the same step because the flag is reduced.
            asked = stop["asked"] or os.path.exists(job["stopFile"])
            step = torch.tensor([loss.item() * k, acc * k, k, 1.0 if asked else 0.0], dtype=torch.float64)
            if world > 1:
                dist.all_reduce(step)
            if not math.isfinite(step[0].item()):
                raise SystemExit(f"the loss became {step[0].item()} at epoch {epoch + 1}, batch {index + 1}: lower the learning rate")
            sums += step[:3]
            g_k = int(step[2].item())
            state = {
                **state,
                "epoch": epoch,
                "batch": index + 1,
                "step": state["step"] + 1,
                "samples": state["samples"] + g_k,
                "sums": sums.tolist(),
                "seconds": time.perf_counter() - t0,
            }
            if lead:
                emit(
                    "step",
                    epoch=epoch,
                    batch=index + 1,
                    batches=batches,
                    step=state["step"],
                    loss=sums[0].item() / sums[2].item(),
                    accuracy=sums[1].item() / sums[2].item(),
                    stepLoss=step[0].item() / g_k,
                    imagesPerSec=g_k / (time.perf_counter() - step_start),
                )
            if step[3].item() > 0:
                interrupted = True
                break
        if interrupted:
            save_checkpoint()
            if lead:
                emit("stopped", state=state)
            break
        seconds = time.perf_counter() - t0
        recalibrate_batch_norm(model, net, train, job, epoch, device, world, rank)
        if world > 1:
            dist.barrier()
        v = evaluate() if val is not None and lead else None
        seen = sums[2].item()
        metrics = {
            "epoch": epoch + 1,
            "step": state["step"],
            "lr": learning_rate(cfg["optimizer"]["lr"], cfg["schedule"], epoch, state["samples"], state["step"]),
            "loss": sums[0].item() / max(seen, 1),
            "accuracy": sums[1].item() / max(seen, 1),
            **({"valLoss": v[0], "valAccuracy": v[1]} if v else {}),
            "imagesPerSec": seen / max(seconds, 1e-9),
            "seconds": seconds,
        }
        state = {**state, "epoch": epoch + 1, "batch": 0, "sums": [0.0, 0.0, 0.0], "seconds": 0.0}
        history.append(metrics)
        save_checkpoint()
        if lead:
            # archc writes metrics.jsonl and metrics.csv from the history, as for its own engine.
            emit("epoch", metrics=metrics, history=history)
        if world > 1:
            dist.barrier()
    if lead:
        emit("done", interrupted=interrupted)
    if world > 1:
        dist.destroy_process_group()


def torchrun(argv):
    """torchrun (torch.distributed.run) in this interpreter. torch before 2.0 reads its --redirects
    and --tee defaults ("0") through IntFlag iteration, which Python 3.11 changed so that Std.NONE
    is never found; reading the digit as the flag value directly is what those versions meant."""
    from torch.distributed.elastic.multiprocessing import api
    from torch.distributed import run

    original = api.Std.from_str.__func__

    def from_str(cls, vm):
        return cls(int(vm)) if vm.isdigit() and len(vm) == 1 else original(cls, vm)

    api.Std.from_str = classmethod(from_str)
    run.main(argv)


if __name__ == "__main__":
    if sys.argv[1] == "--torchrun":
        torchrun(sys.argv[2:])
    else:
        main()
