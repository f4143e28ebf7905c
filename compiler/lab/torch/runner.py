"""archc's torch engine: trains a module archc generated (`--target torch`) as archc's embedded
trainer does, on data archc prepared, and reports to archc on standard output, one JSON object a
line. Launched by `archc train --engine torch`; under torchrun (`--nproc N`) every process runs
this file, with DistributedDataParallel (gloo on CPU, NCCL on GPU), each global batch of each
epoch's order dealt among the processes, batch norm synchronised across processes (so N
processes compute what one does on the same global batch) and rank 0 alone writing the run
folder. Every data source (packs, image folders, IDX files, synthetic data) is read a sample at a
time, in DataLoader workers: nothing is decoded whole.

usage: runner.py JOB.json   (the job's fields: see compiler/lab/torch/engine.ts)
"""
import hashlib
import importlib.util
import io
import json
import math
import os
import random
import re
import signal
import stat
import struct
import sys
import tarfile
import threading
import time
import warnings

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

# A decoded image's bytes become a tensor without a copy (Samples.__getitem__); nothing writes
# to them (collate reads them into the batch), so torch's warning that it could is noise.
warnings.filterwarnings("ignore", message="The given NumPy array is not writable")

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


# ---------------------------------------------------------------------------------------------
# Augmentation: compiler/lab/data/augment.ts, line for line (change both). A sample's crop and
# flip are a function of (seed, epoch, sample) alone, so they do not depend on the worker, the
# rank or where a run resumed.

AUGMENT_STREAM = 0x61756721
AUGMENT_ATTEMPTS = 10


def aug_draw(seed, epoch, sample, k):
    return derive_seed(seed, AUGMENT_STREAM, epoch, sample, k) / 4294967296


def round_half_up(x):
    # Written out: Python's round() rounds half to even, JavaScript's Math.round half up.
    return math.floor(x + 0.5)


def crop_box(view, sample, H, W, oh, ow):
    """(top, left, h, w, flip): torchvision's RandomResizedCrop.get_params with counter-based
    draws and a flip (training), or the centred crop of the output's aspect ratio times
    `fraction` by side (evaluation)."""
    if view["kind"] == "centre":
        s = min(H / oh, W / ow)
        h = min(H, max(1, round_half_up(view["fraction"] * oh * s)))
        w = min(W, max(1, round_half_up(view["fraction"] * ow * s)))
        return (H - h) // 2, (W - w) // 2, h, w, False
    a, seed, epoch = view["augment"], view["seed"], view["epoch"]

    def u(k):
        return aug_draw(seed, epoch, sample, k)

    flip = bool(a["flip"]) and u(4 * AUGMENT_ATTEMPTS) < 0.5
    area = H * W
    log_lo, log_hi = math.log(a["ratio"][0]), math.log(a["ratio"][1])
    for t in range(AUGMENT_ATTEMPTS):
        target = area * (a["scale"][0] + u(4 * t) * (a["scale"][1] - a["scale"][0]))
        aspect = math.exp(log_lo + u(4 * t + 1) * (log_hi - log_lo))
        w = round_half_up(math.sqrt(target * aspect))
        h = round_half_up(math.sqrt(target / aspect))
        if 0 < w <= W and 0 < h <= H:
            top = math.floor(u(4 * t + 2) * (H - h + 1))
            left = math.floor(u(4 * t + 3) * (W - w + 1))
            return top, left, h, w, flip
    h, w = H, W
    if W / H < a["ratio"][0]:
        h = round_half_up(W / a["ratio"][0])
    elif W / H > a["ratio"][1]:
        w = round_half_up(H * a["ratio"][1])
    return (H - h) // 2, (W - w) // 2, h, w, flip


def crop_resize(px, box, oh, ow):
    """The box of an [H, W, C] image resized to [oh, ow, C] (bilinear, align_corners=False,
    no antialiasing), mirrored when the box says so; float32 in the source's units."""
    top, left, h, w, flip = box
    crop = torch.from_numpy(np.ascontiguousarray(px[top : top + h, left : left + w], dtype=np.float32))
    x = crop.permute(2, 0, 1)[None]
    if (h, w) != (oh, ow):
        x = F.interpolate(x, size=(oh, ow), mode="bilinear", align_corners=False)
    if flip:
        x = torch.flip(x, [3])
    return x[0].permute(1, 2, 0).numpy()


def sample_view(view, seed, epoch):
    """An epoch's view ({"kind": "augment", "augment": ...} or {"kind": "centre", ...}) with
    what a training crop is drawn from."""
    if view is None or view["kind"] != "augment":
        return view
    return {**view, "seed": seed, "epoch": epoch}


def view_sample(view, sample, px, oh, ow):
    return crop_resize(px, crop_box(view, sample, px.shape[0], px.shape[1], oh, ow), oh, ow)


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
    order_seed = derive_seed(job["seed"], PRECISE_BN_STREAM)
    order = epoch_order(train.n, order_seed, epoch, True)
    # Augmented as training is, with the recalibration's own draws (preciseBn.ts).
    aug = job["config"].get("augment")
    view = sample_view({"kind": "augment", "augment": aug}, order_seed, epoch) if aug else None
    try:
        for a in range(0, min(images, train.n), batch):
            chunk = order[a : min(a + batch, train.n)]
            mine = chunk[rank * local_batch : (rank + 1) * local_batch] if world > 1 else chunk
            x, _ = train.batch(mine, device, view)
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
# Files. Nothing in a run folder is ever unpickled or executed: checkpoints and weights are
# safetensors (compiler/backends/torch/safetensors.ts is the same format and the same digest),
# read from regular files only, verified before any of it is used.

DTYPES = {"F32": (torch.float32, 4), "F64": (torch.float64, 8), "I64": (torch.int64, 8), "U8": (torch.uint8, 1)}
DTYPE_NAMES = {dtype: name for name, (dtype, _) in DTYPES.items()}
DIGEST_KEY = "archc_sha256"
CHECKPOINT_FORMAT = "archc-torch-checkpoint"
CHECKPOINT_VERSION = "2"


class Refused(Exception):
    """A file archc will not use; the message names it and says why (reported, exit 1)."""


def digest(metadata, tensors):
    """sha256 over the metadata (but the digest) and each tensor's name, dtype, shape and bytes,
    in name order: a flipped bit anywhere, or swapped offsets, changes it."""
    h = hashlib.sha256()
    for k in sorted(metadata):
        if k != DIGEST_KEY:
            h.update(f"{k}\0{metadata[k]}\0".encode())
    for name in sorted(tensors):
        dtype, shape, data = tensors[name]
        h.update(f"{name}\0{dtype}\0{','.join(str(d) for d in shape)}\0".encode())
        h.update(data)
    return h.hexdigest()


def tensor_bytes(t):
    t = t.detach().cpu().contiguous()
    if t.dtype not in DTYPE_NAMES:
        t = t.float()
    return DTYPE_NAMES[t.dtype], list(t.shape), t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""


def encode_safetensors(tensors, metadata):
    raw = {name: tensor_bytes(t) for name, t in tensors.items()}
    meta = {**metadata, DIGEST_KEY: digest(metadata, raw)}
    header = {"__metadata__": meta}
    offset = 0
    for name in sorted(raw):
        dtype, shape, data = raw[name]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    head = json.dumps(header).encode()
    head += b" " * ((8 - (8 + len(head)) % 8) % 8)
    return b"".join([struct.pack("<Q", len(head)), head] + [raw[name][2] for name in sorted(raw)])


def parse_safetensors(data, path):
    """The metadata and tensors of safetensors bytes, every size, offset and the digest checked."""
    if len(data) < 8:
        raise Refused(f"{path} is {'empty' if not data else 'cut short'}: it is not a safetensors file")
    (size,) = struct.unpack("<Q", data[:8])
    if size < 2 or size > len(data) - 8:
        raise Refused(f"{path} is not an archc checkpoint (safetensors): its header length says {size} bytes, the file has {len(data) - 8}")
    try:
        header = json.loads(data[8 : 8 + size].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise Refused(f"{path} is damaged: its header is not valid JSON")
    if not isinstance(header, dict):
        raise Refused(f"{path} is damaged: its header is not a JSON object")
    body = memoryview(data)[8 + size :]
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise Refused(f"{path} is damaged: its metadata is not a map of strings")
    raw, spans = {}, []
    for name, t in header.items():
        ok = isinstance(t, dict) and t.get("dtype") in DTYPES and isinstance(t.get("shape"), list) and isinstance(t.get("data_offsets"), list)
        ok = ok and all(isinstance(d, int) and d >= 0 for d in t["shape"] + t["data_offsets"]) and len(t["data_offsets"]) == 2
        if not ok:
            raise Refused(f"{path} is damaged: tensor {name} has no valid dtype, shape and offsets")
        a, b = t["data_offsets"]
        if b - a != math.prod(t["shape"]) * DTYPES[t["dtype"]][1] or b > len(body):
            raise Refused(f"{path} is damaged: tensor {name} does not fit its offsets or the file")
        spans.append((a, b, name))
        raw[name] = (t["dtype"], t["shape"], bytes(body[a:b]))
    end = 0
    for a, b, name in sorted(spans):
        if a != end:
            raise Refused(f"{path} is damaged: tensor {name} overlaps another or leaves a gap")
        end = b
    if end != len(body):
        raise Refused(f"{path} is damaged: {len(body) - end} bytes after its last tensor")
    if metadata.get(DIGEST_KEY) != digest(metadata, raw):
        raise Refused(f"{path} is damaged: its contents do not match the checksum written with it")
    tensors = {}
    for name, (dtype, shape, b) in raw.items():
        tensors[name] = torch.frombuffer(bytearray(b), dtype=DTYPES[dtype][0]).reshape(shape) if b else torch.zeros(shape, dtype=DTYPES[dtype][0])
    return metadata, tensors


def read_regular(path, limit=1 << 34):
    """A file's bytes, refusing anything but a regular file (a FIFO would block, /dev/zero never
    end): opened without blocking and without following a final link, then checked."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError as e:
        raise Refused(f"{path} cannot be read: {e.strerror}")
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Refused(f"{path} is not a regular file")
        if st.st_size > limit:
            raise Refused(f"{path} is {st.st_size} bytes, larger than any checkpoint archc writes")
        return f.read()


def atomic(path, data):
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


# ---------------------------------------------------------------------------------------------
# Checkpoints: the model's state dict, the optimizer's state, every rank's random generators and
# the position in the epoch, in one safetensors file under one digest, so that a resumed run
# computes what the uninterrupted one does (at an epoch boundary or inside an epoch, on any
# number of processes).


def rng_state(device):
    """This process's random generators, as JSON (the runner draws from torch's for dropout; the
    others are kept so that code added later stays exact too)."""
    state = {
        "torch": torch.get_rng_state().numpy().tobytes().hex(),
        "python": [random.getstate()[0], list(random.getstate()[1]), random.getstate()[2]],
        "numpy": (lambda s: [s[0], s[1].tolist(), s[2], s[3], s[4]])(np.random.get_state()),
    }
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device).numpy().tobytes().hex()
    return state


def set_rng_state(state, device):
    torch.set_rng_state(torch.frombuffer(bytearray(bytes.fromhex(state["torch"])), dtype=torch.uint8))
    v, internal, gauss = state["python"]
    random.setstate((v, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(torch.frombuffer(bytearray(bytes.fromhex(state["cuda"])), dtype=torch.uint8), device)


def gather_json(value, world, device):
    """Every rank's value, on every rank (bytes through all_gather: nothing is pickled)."""
    if world == 1:
        return [value]
    data = json.dumps(value).encode()
    n = torch.tensor([len(data)], dtype=torch.int64, device=device)
    sizes = [torch.zeros_like(n) for _ in range(world)]
    dist.all_gather(sizes, n)
    longest = max(int(s.item()) for s in sizes)
    mine = torch.zeros(longest, dtype=torch.uint8)
    mine[: len(data)] = torch.frombuffer(bytearray(data), dtype=torch.uint8)
    out = [torch.zeros(longest, dtype=torch.uint8, device=device) for _ in range(world)]
    dist.all_gather(out, mine.to(device))
    return [json.loads(o[: int(s.item())].cpu().numpy().tobytes()) for o, s in zip(out, sizes)]


def broadcast_bytes(data, world, device):
    """Rank 0's bytes on every rank (None: rank 0 has none; False: rank 0 refused them)."""
    if world == 1:
        return data
    n = torch.tensor([-1 if data is None else -2 if data is False else len(data)], dtype=torch.int64, device=device)
    dist.broadcast(n, 0)
    size = int(n.item())
    if size < 0:
        return None if size == -1 else False
    t = torch.frombuffer(bytearray(data), dtype=torch.uint8).to(device) if data else torch.zeros(size, dtype=torch.uint8, device=device)
    dist.broadcast(t, 0)
    return t.cpu().numpy().tobytes()


def optimizer_tensors(optimizer):
    """The optimizer's state dict as tensors (by parameter index and name) and JSON for the rest."""
    sd = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, entries in sd["state"].items():
        for key, v in entries.items():
            if torch.is_tensor(v):
                tensors[f"optimizer/{index}/{key}"] = v
            else:
                scalars.setdefault(str(index), {})[key] = v
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def optimizer_state(tensors, saved):
    state = {}
    for index, entries in saved["scalars"].items():
        state.setdefault(int(index), {}).update(entries)
    for name, t in tensors.items():
        if name.startswith("optimizer/"):
            _, index, key = name.split("/", 2)
            state.setdefault(int(index), {})[key] = t
    return {"state": state, "param_groups": saved["param_groups"]}


def encode_checkpoint(job, model, optimizer, train_state, history, best, rngs):
    tensors = {f"model/{k}": v for k, v in model.state_dict().items()}
    opt_tensors, opt_json = optimizer_tensors(optimizer)
    tensors.update(opt_tensors)
    state = {"state": train_state, "history": history, "best": best, "optimizer": opt_json, "rng": rngs}
    metadata = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "key": job.get("key", ""), "network": job["network"], "state": json.dumps(state)}
    return encode_safetensors(tensors, metadata)


def decode_checkpoint(data, path, job):
    """The checkpoint's tensors and state; Refused when it is not this run's."""
    # Safetensors' 8-byte header length can start with 0x80 or "PK": its ninth byte is "{".
    if data[8:9] != b"{" and (data[:2] == b"PK" or data[:1] == b"\x80"):
        raise Refused(f"{path} is a pickle (an older archc's torch checkpoint, or a file put there), which archc never loads; start again with --fresh")
    metadata, tensors = parse_safetensors(data, path)
    if metadata.get("format") != CHECKPOINT_FORMAT or metadata.get("version") != CHECKPOINT_VERSION:
        raise Refused(f"{path} is not an archc torch checkpoint (format {metadata.get('format')!r}, version {metadata.get('version')!r})")
    if job.get("key") and metadata.get("key") != job["key"]:
        raise Refused(f"{path} belongs to another run (key {metadata.get('key')!r}, this run's is {job['key']!r}); start again with --fresh")
    try:
        state = json.loads(metadata["state"])
    except (KeyError, ValueError):
        raise Refused(f"{path} is damaged: its training state is not valid JSON")
    return tensors, state


def write_weights(path, model, job):
    weights = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    atomic(path, encode_safetensors(weights, {"network": job["network"], "format": "archc-weights"}))


# ---------------------------------------------------------------------------------------------
# Packed data sets (`archc data pack`: tar shards, WebDataset layout), streamed. A sample is read
# by one seek into its shard (the offsets come from tarfile's member headers, never the images)
# and decoded in DataLoader workers, as compiler/lab/data/ does it in worker threads: no image
# is held beyond the batches in flight, whatever the size of the set.

IMAGE_EXTS = ("jpg", "png", "pgm", "ppm")
EXIF_ORIENTATION = 0x0112
NETPBM = re.compile(rb"^(P[56])\s+(\d+)\s+(\d+)\s+255\s")


class NotPlain(Exception):
    """A tar header the quick reader leaves to tarfile (see plain_members)."""


def plain_members(path):
    """(name, data offset, size) of each regular file of a tar whose headers are all plain ustar
    (as `archc data pack` writes them: short names, no pax or GNU extensions), read from one
    mmap of the shard: a header is 512 bytes at a known place, parsed with no object made for
    it, about 4 times faster than tarfile, which matters at ImageNet's 2.5 million members on
    every process. NotPlain at the first header that is anything else (or damaged), so that the
    caller reads the shard again with tarfile, whose verdict on it stands."""
    import mmap

    with open(path, "rb") as f:
        end = os.fstat(f.fileno()).st_size
        if end == 0:
            raise NotPlain()
        view = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    with view:
        pos = 0
        while pos != end:
            if pos + 512 > end:
                # Cut short (tarfile has its words for where).
                raise NotPlain()
            h = view[pos : pos + 512]
            if not any(h):
                return
            # The checksum counts its own 8 bytes as spaces (tarfile's unsigned sum).
            stored = h[148:156].split(b"\0", 1)[0].strip()
            if h[257:262] != b"ustar" or not stored.isdigit() or int(stored, 8) != sum(h) - sum(h[148:156]) + 256:
                raise NotPlain()
            kind = h[156:157]
            if kind not in (b"0", b"\0", b"5") or h[124] & 0x80:
                raise NotPlain()
            name = h[:100].split(b"\0", 1)[0]
            prefix = h[345:500].split(b"\0", 1)[0]
            size = int(h[124:136].split(b"\0", 1)[0].strip() or b"0", 8)
            following = pos + 512 + -(-size // 512) * 512
            if following > end:
                raise NotPlain()
            if kind != b"5":
                yield (prefix + b"/" + name if prefix else name).decode("utf-8", "surrogateescape"), pos + 512, size
            pos = following


def tarfile_members(path):
    """(name, data offset, size) of each regular file of any tar Python's tarfile reads."""
    with tarfile.open(path, "r:") as tar:
        for m in tar:
            if m.isfile():
                yield m.name, m.offset_data, m.size


def locate_split(folder, index, split):
    """Every sample of a split: shard, data offset and size of its image, format and label
    (numpy arrays, a few bytes a sample), each key's image and label checked."""
    entry = index["splits"][split]
    n, classes = entry["count"], len(index["classes"])
    shard = np.zeros(n, dtype=np.int32)
    offset = np.zeros(n, dtype=np.int64)
    size = np.zeros(n, dtype=np.int64)
    ext = np.zeros(n, dtype=np.int8)
    label = np.zeros(n, dtype=np.int64)
    key = np.zeros(n, dtype=np.int64)
    files = [os.path.join(folder, s["file"]) for s in entry["shards"]]

    def scan(si, path, members, first):
        """The shard's samples into the arrays from position `first`; the position after."""
        i = first
        current, seen = None, set()

        def close():
            if current is not None and seen != {"image", "cls"}:
                raise Refused(f"{path}: sample {current} has no {'image' if 'cls' in seen else '.cls label'}")

        with open(path, "rb") as raw:
            for name, at, length in members:
                k, _, e = name.partition(".")
                if k != current:
                    close()
                    if current is not None:
                        i += 1
                    if i >= n:
                        raise Refused(f"{path}: holds more samples than the index's {n}")
                    current, seen = k, set()
                    key[i] = int(k) if k.isdigit() else i
                if e == "cls":
                    text = os.pread(raw.fileno(), length, at).decode("utf-8", "replace").strip()
                    if not text.isdigit() or int(text) >= classes:
                        raise Refused(f"{path}: sample {k}'s label '{text}' is not one of the {classes} classes")
                    label[i] = int(text)
                    seen.add("cls")
                elif e in IMAGE_EXTS:
                    shard[i], offset[i], size[i], ext[i] = si, at, length, IMAGE_EXTS.index(e)
                    seen.add("image")
                else:
                    raise Refused(f"{path}: member '{name}' is neither an image nor a .cls label")
        close()
        return i + 1 if current is not None else i

    i = 0
    for si, path in enumerate(files):
        first = i
        try:
            try:
                i = scan(si, path, plain_members(path), first)
            except NotPlain:
                i = scan(si, path, tarfile_members(path), first)
        except (tarfile.TarError, OSError) as err:
            raise Refused(f"{path}: is not a readable tar file ({err})")
        if i - first != entry["shards"][si]["count"]:
            raise Refused(f"{path}: holds {i - first} samples; the index recorded {entry['shards'][si]['count']}")
    return files, shard, offset, size, ext, label, key


def preload_decoder():
    """PIL, imported before the DataLoader workers fork, so that each has it from the start
    instead of importing it on its first sample (while the step waits for that batch)."""
    from PIL import Image, ImageOps  # noqa: F401


def decode_pixels(data, ext, shape, full=False):
    """One encoded image's bytes, uint8 [h, w, 1 or 3] (gray netpbm stays gray; a JPEG or PNG
    is RGB), as compiler/lab/data/decode.ts decodes it: resizing (to another size than stored)
    is PIL's antialiased bilinear (torchvision's default Resize), as decode.ts's; its rounding
    may differ. `full`: at the stored size, for a view's crop."""
    from PIL import Image, ImageOps

    h, w, c = shape
    if ext in ("pgm", "ppm"):
        m = NETPBM.match(data[:64])
        if not m:
            raise ValueError("not a binary PGM/PPM image with 8-bit samples")
        pw, ph, pc = int(m.group(2)), int(m.group(3)), 1 if m.group(1) == b"P5" else 3
        px = np.frombuffer(data, dtype=np.uint8, count=pw * ph * pc, offset=m.end()).reshape(ph, pw, pc)
    else:
        img = Image.open(io.BytesIO(data))
        if not full:
            # A JPEG much larger than the input is decoded at 1/2, 1/4 or 1/8 scale (never below
            # h x w), as sharp's shrink-on-load does: most of a large photo's decoding cost.
            # Not for a crop, whose box is drawn on the full-size image.
            img.draft("RGB", (w, h))
        # exif_transpose and convert each return a full-size copy even when there is nothing
        # to do (most photos): asked only where there is.
        if img.getexif().get(EXIF_ORIENTATION, 1) in range(2, 9):
            img = ImageOps.exif_transpose(img)
        if img.mode != "RGB":
            img = img.convert("RGB")
        if img.size != (w, h) and not full:
            img = img.resize((w, h), Image.BILINEAR)
        px = np.asarray(img, dtype=np.uint8)
    if full or px.shape[:2] == (h, w):
        return px
    img = Image.fromarray(px[:, :, 0] if px.shape[2] == 1 else px)
    return np.asarray(img.resize((w, h), Image.BILINEAR), dtype=np.uint8).reshape(h, w, -1)


def decode_sample(data, ext, shape, view=None, sample=0):
    """One encoded image as [h, w, c] float32 in [0, 1], the arithmetic of
    compiler/lab/data/decode.ts: gray to gray and RGB to RGB are the byte over 255, gray to RGB
    repeats it, RGB to gray is PIL's luma in double precision before the division. With a view,
    the view's box of the full-size image is resized to h x w instead (crop_resize)."""
    h, w, c = shape
    px = decode_pixels(data, ext, shape, full=view is not None)
    if view is not None:
        return to_channels(view_sample(view, sample, px, h, w).astype(np.float64), c)
    return to_channels(px.astype(np.float64), c)


def as_sample(px, c):
    """Decoded bytes [h, w, 1 or 3] as a sample for the batch (collate): the bytes themselves
    where the batch's floats are the byte over 255 (the same channels, or gray repeated to RGB),
    converted there, in one pass into the batch; to_channels' floats for RGB to gray (luma)."""
    if px.shape[2] == c or px.shape[2] == 1:
        return px
    return to_channels(px.astype(np.float64), c)


def to_channels(d, c):
    """[h, w, 1 or 3] values in 0..255 (float64) as [h, w, c] float32 in [0, 1]."""
    if d.shape[2] == c:
        out = d / 255
    elif c == 3:
        out = np.repeat(d, 3, axis=2) / 255
    else:
        out = ((0.299 * d[:, :, 0] + 0.587 * d[:, :, 1] + 0.114 * d[:, :, 2]) / 255)[:, :, None]
    return out.astype(np.float32)


class Samples(torch.utils.data.Dataset):
    """A data set read and decoded one sample at a time, in the order archc numbers them: a
    map-style Dataset, so that any order (a seeded global permutation, split among any number of
    ranks) reads exactly its samples, and DataLoader workers decode a few batches ahead of the
    step. Subclasses say how to read sample p: load(p, view) -> ([h, w, c] float32, label, id)."""

    # A sample that cannot be read is dropped from its batch, not an error (--skip-corrupt).
    skip_corrupt = False

    def __init__(self, spec, workers):
        self.n = spec["size"]
        self.shape = tuple(spec["shape"])
        self.workers = workers

    def __len__(self):
        return self.n

    def __getitem__(self, item):
        """(x [c, h, w], label, id), or (None, why, id): a DataLoader worker's exception would
        reach the main process wrapped in its traceback, so the reason travels as a value. The
        item is a position, or (position, view). x is float32, or uint8 bytes that collate
        divides by 255 as it writes them into the batch (as_sample)."""
        p, view = item if isinstance(item, tuple) else (item, None)
        try:
            x, label, key = self.load(int(p), view)
        except Unreadable as err:
            return None, str(err), err.key
        if x.dtype == np.uint8:
            # Planar bytes (a cheap copy, 1 byte a value) make collate's division contiguous,
            # a third of its cost on interleaved RGB.
            h, w, c = self.shape
            return torch.from_numpy(x).permute(2, 0, 1).contiguous().expand(c, h, w), label, key
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).permute(2, 0, 1), label, key

    def batch(self, idx, device, view=None):
        x, y, _ = self.checked(collate([self[(p, view)] for p in idx]))
        return x.to(device), y.to(device)

    def checked(self, batch):
        """The batch less its unreadable samples where they are skipped (each reported once),
        else the error that names the first."""
        x, y, ids, bad = batch
        if bad and not self.skip_corrupt:
            raise Refused(bad[0][1])
        for key, why in bad:
            if key not in self.reported:
                self.reported.add(key)
                emit("skipped", path=why.split(": ", 1)[0], reason=why.split(": ", 1)[-1])
        if not ids:
            x = torch.zeros((0, self.shape[2], *self.shape[:2]))
        return x, y, ids

    def batches(self, chunks, device, view=None):
        """(x, y, sample ids) for each list of positions, read and decoded by DataLoader workers
        a few batches ahead of the step. The workers start on the first batches when this is
        called, not when the first is asked for: a stream made before the work that precedes
        its first step (the last epoch's evaluation and checkpoint) is ready when the step is.
        One stream at a time: making another abandons the one before."""
        # Each position travels with the epoch's view: the workers hold no state of their own.
        chunks = [[(int(p), view) for p in c] for c in chunks]
        if not chunks:
            return iter(())
        loader = self.loader()
        loader.batch_sampler.chunks = chunks
        # iter() sends the workers their first batches now (prefetch_factor each).
        return (self.delivered(batch, device) for batch in iter(loader))

    def delivered(self, batch, device):
        x, y, ids = self.checked(batch)
        return x.to(device), y.to(device), ids

    def loader(self):
        """This data set's one DataLoader: its workers are started once and kept from epoch to
        epoch (persistent_workers), each stream handing it the positions to read (Chunks), so
        no epoch, and no evaluation, waits for worker processes to start."""
        if self.__dict__.get("_loader") is None:
            # Its own generator: a loader draws its workers' base seed, which must not move the
            # global generator (dropout's), or a resumed run would draw other masks.
            self._loader = torch.utils.data.DataLoader(
                self,
                batch_sampler=Chunks(),
                num_workers=self.workers,
                collate_fn=collate,
                generator=torch.Generator(),
                persistent_workers=self.workers > 0,
            )
        return self._loader

    def close(self):
        """Stops the loader's workers (they are kept between streams) and waits for them."""
        loader, self._loader = self.__dict__.get("_loader"), None
        stream = loader and loader._iterator
        if stream is not None and hasattr(stream, "_shutdown_workers"):
            stream._shutdown_workers()

    def __getstate__(self):
        # A worker gets the data set without its loader (a spawned one would pickle it).
        return {k: v for k, v in self.__dict__.items() if k != "_loader"}

    @property
    def reported(self):
        if "_reported" not in self.__dict__:
            self._reported = set()
        return self._reported


class Unreadable(Exception):
    """A sample that cannot be read or decoded; the message names its file."""

    def __init__(self, message, key):
        super().__init__(message)
        self.key = key


class ShardData(Samples):
    """The samples of a packed split that archc selected (positions in the split, in the order
    archc numbers them), each read by one seek into its shard."""

    def __init__(self, spec, workers):
        super().__init__({"size": 0, "shape": spec["shape"]}, workers)
        folder = spec["dir"]
        index = json.loads(read_regular(os.path.join(folder, "index.json")))
        self.files, self.shard, self.offset, self.size, self.ext, self.label, self.key = locate_split(folder, index, spec["split"])
        self.indices = np.frombuffer(read_regular(spec["indices"]), dtype=np.uint32).astype(np.int64)
        self.n = len(self.indices)
        self.handles = {}
        preload_decoder()

    def read(self, i):
        f = self.handles.get(self.shard[i])
        if f is None:
            # One handle a shard per process (each DataLoader worker opens its own).
            f = self.handles[self.shard[i]] = open(self.files[self.shard[i]], "rb")
        f.seek(self.offset[i])
        data = f.read(self.size[i])
        if len(data) != self.size[i]:
            raise Unreadable(f"{self.files[self.shard[i]]}: ends inside sample {self.key[i]:09d}: cut short", int(self.key[i]))
        return data

    def load(self, p, view):
        i = self.indices[p]
        key = int(self.key[i])
        data = self.read(i)
        try:
            ext = IMAGE_EXTS[self.ext[i]]
            x = decode_sample(data, ext, self.shape, view, p) if view is not None else as_sample(decode_pixels(data, ext, self.shape), self.shape[2])
        except Exception as err:
            raise Unreadable(f"{self.files[self.shard[i]]}: sample {key:09d} cannot be decoded ({err})", key)
        return x, int(self.label[i]), key

    def __getstate__(self):
        # Workers open their own shard handles.
        return {**super().__getstate__(), "handles": {}}


def sniff(data):
    """compiler/lab/train/data/imageFolder.ts's rule: a JPEG or a PNG by its first bytes."""
    return data[:3] == b"\xff\xd8\xff" or data[:8] == b"\x89PNG\r\n\x1a\n"


class FileData(Samples):
    """An image folder's files (the paths archc listed, in its order, and their labels), each
    decoded as the embedded trainer decodes it (imageFolder.ts): stretched to the input, and a
    view cropping that image. The paths stay one array of bytes: a Python string each would be
    copied into every DataLoader worker as the workers touch them."""

    def __init__(self, spec, workers):
        super().__init__(spec, workers)
        f = spec["files"]
        self.paths = np.fromfile(f["paths"], dtype=np.uint8)
        self.ends = np.flatnonzero(self.paths == 0)
        self.labels = np.fromfile(f["labels"], dtype=np.int32)
        self.skip_corrupt = bool(f.get("skipCorrupt"))
        if len(self.ends) != self.n or len(self.labels) != self.n:
            raise Refused(f"{f['paths']}: lists {len(self.ends)} files for {self.n} samples")
        preload_decoder()

    def path(self, p):
        start = 0 if p == 0 else int(self.ends[p - 1]) + 1
        return self.paths[start : self.ends[p]].tobytes().decode("utf-8", "surrogateescape")

    def load(self, p, view):
        path = self.path(p)
        h, w, _ = self.shape
        try:
            with open(path, "rb") as f:
                data = f.read()
            if not sniff(data):
                raise ValueError("not a JPEG or PNG file (by its first bytes)")
            px = decode_pixels(data, "jpg", self.shape)
        except Exception as err:
            why = str(err).split("\n")[0].strip() or type(err).__name__
            hint = "" if self.skip_corrupt else "; pass --skip-corrupt to skip such files"
            raise Unreadable(f"{path}: cannot be decoded as an image ({why}){hint}", p)
        if view is None:
            return as_sample(px, self.shape[2]), int(self.labels[p]), p
        # The view crops the stretched image (imageFolder.ts), not the file.
        return view_sample(view, p, to_channels(px.astype(np.float64), self.shape[2]), h, w), int(self.labels[p]), p


def resize_bilinear(x, oh, ow):
    """tf.image.resizeBilinear as tfjs computes it (align_corners and half-pixel centres off):
    source row r * (in / out), the two rows around it blended, then the two columns."""
    ih, iw = x.shape[:2]
    ry = np.arange(oh) * (ih / oh)
    rx = np.arange(ow) * (iw / ow)
    y0 = np.floor(ry).astype(np.int64)
    x0 = np.floor(rx).astype(np.int64)
    y1 = np.minimum(ih - 1, np.ceil(ry).astype(np.int64))
    x1 = np.minimum(iw - 1, np.ceil(rx).astype(np.int64))
    fy = (ry - y0)[:, None, None]
    fx = (rx - x0)[None, :, None]
    tl, tr = x[y0][:, x0], x[y0][:, x1]
    bl, br = x[y1][:, x0], x[y1][:, x1]
    top = tl + (tr - tl) * fx
    bottom = bl + (br - bl) * fx
    return (top + (bottom - top) * fy).astype(np.float32)


class IdxData(Samples):
    """Records of an IDX image file (uint8 [n, rows, columns]), each read by one seek: its bytes
    over 255, resized to the input as tfjs' resizeBilinear does and repeated to RGB where the
    network takes 3 channels (compiler/lab/train/data/idx.ts), then a view cropping that."""

    def __init__(self, spec, workers):
        super().__init__(spec, workers)
        f = spec["idx"]
        self.file = f["images"]
        with open(self.file, "rb") as fh:
            head = fh.read(4)
            if len(head) < 4 or head[:3] != b"\0\0\x08":
                raise Refused(f"{self.file}: is not an IDX file of unsigned bytes")
            dims = struct.unpack(f">{head[3]}I", fh.read(4 * head[3]))
        if len(dims) != 3:
            raise Refused(f"{self.file}: has dimensions {list(dims)}; images need three")
        self.start, (self.h, self.w) = 4 + 4 * len(dims), dims[1:]
        self.records = np.fromfile(f["records"], dtype=np.uint32).astype(np.int64)
        self.labels = np.fromfile(f["labels"], dtype=np.int32)
        self.handle = None

    def load(self, p, view):
        if self.handle is None:
            self.handle = open(self.file, "rb")
        px = self.h * self.w
        self.handle.seek(self.start + int(self.records[p]) * px)
        data = self.handle.read(px)
        if len(data) != px:
            raise Unreadable(f"{self.file}: ends inside record {int(self.records[p])}", p)
        h, w, c = self.shape
        if (h, w) == (self.h, self.w) and view is None:
            # The byte over 255 (and repeated to RGB) as collate writes it into the batch.
            return np.frombuffer(data, dtype=np.uint8).reshape(h, w, 1), int(self.labels[p]), p
        x = (np.frombuffer(data, dtype=np.uint8).reshape(self.h, self.w, 1) / 255).astype(np.float32)
        if (h, w) != (self.h, self.w):
            x = resize_bilinear(x, h, w)
        if c == 3:
            x = np.repeat(x, 3, axis=2)
        if view is not None:
            x = view_sample(view, p, x, h, w)
        return x, int(self.labels[p]), p

    def __getstate__(self):
        return {**super().__getstate__(), "handle": None}


class SynthData(Samples):
    """compiler/lab/train/data/synthetic.ts's examples: sample p is its class's mean (archc
    computed the means) plus uniform noise from splitmix32 seeded by (seed, stream, p), to the
    same float32."""

    def __init__(self, spec, workers):
        super().__init__(spec, workers)
        f = spec["synthetic"]
        px = math.prod(self.shape)
        self.means = np.fromfile(f["means"], dtype=np.float32).reshape(-1, px).astype(np.float64)
        self.seed, self.stream, self.noise = f["seed"], f["stream"], f["noise"]

    def load(self, p, view):
        classes, px = len(self.means), self.means.shape[1]
        s0 = derive_seed(self.seed, self.stream, p)
        # The Weyl sequence's states, then the finaliser, vectorised (the low 32 bits of a
        # uint64 product are the 32-bit product's).
        z = (s0 + np.arange(1, px + 1, dtype=np.uint64) * 0x9E3779B9) & M32
        z = ((z ^ (z >> 16)) * 0x85EBCA6B) & M32
        z = ((z ^ (z >> 13)) * 0xC2B2AE35) & M32
        u = ((z ^ (z >> 16)) & M32).astype(np.float64) / 4294967296
        x = np.clip(self.means[p % classes] + (u - 0.5) * self.noise, 0, 1).astype(np.float32).reshape(self.shape)
        if view is not None:
            x = view_sample(view, p, x, self.shape[0], self.shape[1])
        return x, p % classes, p


class Chunks:
    """A data set's DataLoader's batch sampler: the lists of positions of the stream made last
    (Samples.batches sets them before each iter(), which reads them afresh)."""

    def __init__(self):
        self.chunks = []

    def __iter__(self):
        return iter(self.chunks)

    def __len__(self):
        return len(self.chunks)


def batch_tensor(shape):
    """An empty float32 batch; in a DataLoader worker, in shared memory from the start (as
    torch's default_collate does), or handing it to the training process would copy it there."""
    if torch.utils.data.get_worker_info() is None:
        return torch.empty(shape)
    storage = torch.empty(0).storage()._new_shared(math.prod(shape))
    return torch.empty(0).new(storage).view(shape)


def samples_read(k, batch, skipping, world, device):
    """How many samples the step read on all processes: the global batch's count, less those
    skipped as unreadable (--skip-corrupt), which only the processes that met them know."""
    if not skipping:
        return batch
    if world == 1:
        return k
    n = torch.tensor([k], dtype=torch.float64, device=device)
    dist.all_reduce(n)
    return int(n.item())


def step_loss(losses, read, world):
    """This process's loss for a step that read `read` samples on all processes, such that the
    gradient DDP averages over the processes is the mean over those samples. Equal shares: each
    process's mean. Unequal (a short last batch, samples skipped as unreadable): its sum over
    `read`, times the processes DDP divides by. A skipped sample is in no share and not in
    `read`, so a batch that lost some is the mean of those left, as in the embedded trainer."""
    if len(losses) * world == read:
        return losses.mean()
    return losses.sum() * (world / max(read, 1))


def collate(items):
    """A batch of the samples that could be read ([n, c, h, w] float32), and (id, why) of those
    that could not. Each sample is written once into the batch: bytes divided by 255 on the way
    (float32 division, which is the float64 quotient rounded, for every byte), floats copied."""
    good = [t for t in items if t[0] is not None]
    bad = [(t[2], t[1]) for t in items if t[0] is None]
    if not good:
        return torch.zeros(0), torch.zeros(0, dtype=torch.int64), [], bad
    x = batch_tensor((len(good), *good[0][0].shape))
    for i, t in enumerate(good):
        if t[0].dtype == torch.uint8:
            torch.div(t[0], 255, out=x[i])
        else:
            x[i].copy_(t[0])
    return x, torch.tensor([t[1] for t in good], dtype=torch.int64), [t[2] for t in good], bad


def open_data(spec, job):
    """The job's data set: a pack, image files, IDX records or synthetic examples, each read a
    sample at a time. DataLoader workers where decoding costs (default 4, at most the cores),
    the training process itself for IDX bytes and synthetic noise, unless the job says."""
    if spec is None:
        return None
    decoding = "shards" in spec or "files" in spec
    workers = job.get("workers", min(4, os.cpu_count() or 1) if decoding else 0)
    if "shards" in spec:
        return ShardData({**spec["shards"]}, workers)
    if "files" in spec:
        return FileData(spec, workers)
    if "idx" in spec:
        return IdxData(spec, workers)
    if "synthetic" in spec:
        return SynthData(spec, workers)
    raise Refused(f"the job's data has none of shards, files, idx or synthetic: {sorted(spec)}")


# ---------------------------------------------------------------------------------------------
# Training


def log_samples(path, records):
    """One step's samples, a line for each process's: one append, so that steps never
    interleave."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, "".join(json.dumps(r) + "\n" for r in records).encode())
    finally:
        os.close(fd)


def trim_samples_log(path, step):
    """Drops the steps after the checkpoint a run resumes from (a run killed between
    checkpoints redoes them), so the log says what the weights were trained on."""
    if not os.path.exists(path):
        return
    with open(path, "rb") as f:
        lines = f.read().splitlines(keepends=True)
    keep = [l for l in lines if l.strip() and json.loads(l)["step"] <= step]
    if len(keep) != len(lines):
        atomic(path, b"".join(keep))


def emit(event, **fields):
    """One report to archc: one line in one write, so that lines of several processes sharing
    torchrun's standard output never interleave."""
    data = (json.dumps({"event": event, **fields}) + "\n").encode()
    while data:
        data = data[os.write(1, data) :]


def watch_parent():
    """Exits at once when the process that started this one dies (archc, or torchrun's agent):
    after a kill -9 nobody reads the reports or stops the run, and a resumed run may already be
    writing the same folder. The parent's pid comes from ARCHC_PARENT_PID, set by whoever spawned
    this process, not from getppid() here: the parent may have died while torch was being
    imported, and then getppid() already names init (or a subreaper), which never dies."""
    named = os.environ.get("ARCHC_PARENT_PID", "")
    parent = int(named) if named.isdigit() else os.getppid()
    # The thread below needs the GIL, and a thread stuck in torch's C++ while holding it (seen:
    # gloo's teardown, below in main) never lets it run. Linux's parent-death signal needs nothing
    # of this process; it is set before the check so that a death between the two is seen.
    try:
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: the thread alone
    if os.getppid() != parent:
        os._exit(137)

    def watch():
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(137)

    threading.Thread(target=watch, daemon=True).start()


def load_resume(job, world, lead, device):
    """The run's checkpoint (tensors, state) when resuming, else None: rank 0 reads and verifies
    it and hands the bytes to every rank, so that every rank (on every node) resumes from the same
    file. A file that is refused ends every rank, after rank 0 said why."""
    path = job["checkpoint"]
    data = None
    if lead and job["resume"] and os.path.lexists(path):
        try:
            data = read_regular(path)
            decode_checkpoint(data, path, job)
        except Refused as e:
            emit("error", message=str(e))
            data = False
    data = broadcast_bytes(data, world, device)
    if data is False:
        raise SystemExit(1)
    return None if data is None else decode_checkpoint(data, path, job)


def restore_rng(rngs, job, state, world, rank, lead, device):
    """Each rank's generators as they were when the checkpoint was written; resumed on another
    number of processes, a rank without saved generators seeds from (seed, step, rank)."""
    if len(rngs) == world:
        set_rng_state(rngs[rank], device)
        return
    if lead:
        emit("log", message=f"the checkpoint was written by {len(rngs)} processes, this run has {world}: random draws (dropout) continue from new seeds, so the run will not repeat an uninterrupted one exactly")
    torch.manual_seed(derive_seed(job["seed"], state["step"], rank))


def main():
    watch_parent()
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

    out_dir = job["outDir"]
    ckpt_path = job["checkpoint"]
    resumed = load_resume(job, world, lead, device)
    cfg = job["config"]
    state = resumed[1]["state"] if resumed is not None else {"epoch": 0, "batch": 0, "step": 0, "samples": 0}

    # The data before the model: the first epoch's stream starts its workers (forked from a
    # process not yet holding the model) decoding the first batches while the model is built.
    train, val = open_data(job["train"], job), open_data(job.get("val"), job)
    classes, batch, seed = job["classes"], job["batch"], job["seed"]
    if batch % world:
        raise SystemExit(f"the batch ({batch}) must be a multiple of the processes ({world})")
    # The config's augmentation and eval_crop as views (compiler/lab/data/augment.ts).
    train_view = {"kind": "augment", "augment": cfg["augment"]} if cfg.get("augment") else None
    eval_view = {"kind": "centre", "fraction": cfg["evalCrop"]} if cfg.get("evalCrop") is not None else None
    batches = math.ceil(train.n / batch)

    def epoch_stream(epoch, skip):
        """An epoch's global batches from `skip` on, and this process's stream of its shares.
        The epoch's order is a seeded permutation of the samples, a function of (seed, epoch)
        alone; global batch b is its positions [b * batch, (b + 1) * batch), whatever the number
        of processes, and each process takes every world-th of them (as DistributedSampler deals
        a full batch). The checkpoint counts global batches, so a run resumed on any number of
        processes reads exactly the samples not yet seen, and none twice (a last, short batch is
        dealt the same way: some processes may get fewer, or none)."""
        order = epoch_order(train.n, seed, epoch, True)
        chunks = [order[b * batch : (b + 1) * batch] for b in range(skip, batches)]
        return chunks, train.batches([c[rank::world] for c in chunks], device, sample_view(train_view, seed, epoch))

    upcoming = epoch_stream(state["epoch"], state["batch"]) if state["epoch"] < job["epochs"] else None

    spec = importlib.util.spec_from_file_location("archc_model", job["module"])
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    model = getattr(mod, job["class"])()
    if resumed is not None:
        model.load_state_dict({k[len("model/") :]: v for k, v in resumed[0].items() if k.startswith("model/")})
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
    optimizer = make_optimizer(model.parameters(), cfg["optimizer"])
    history = []
    best = None
    if resumed is not None:
        tensors, saved = resumed
        history, best, state = saved["history"], saved.get("best"), saved["state"]
        optimizer.load_state_dict(optimizer_state(tensors, saved["optimizer"]))
        restore_rng(saved["rng"], job, state, world, rank, lead, device)
    else:
        torch.manual_seed(derive_seed(job["seed"], 0, rank))

    smoothing = cfg["labelSmoothing"]
    eps = 1e-7

    def losses_of(out, y):
        target = F.one_hot(y, classes).float()
        if smoothing > 0:
            target = target * (1 - smoothing) + smoothing / classes
        if job["probabilities"]:
            return -(target * torch.log(out.clamp(eps, 1 - eps))).sum(1)
        return -(target * F.log_softmax(out, 1)).sum(1)

    def loss_of(out, y):
        return losses_of(out, y).mean()

    def evaluate():
        model.eval()
        total, correct, seen = 0.0, 0.0, 0
        with torch.no_grad():
            for x, y, _ in val.batches([range(a, min(a + batch, val.n)) for a in range(0, val.n, batch)], device, eval_view):
                out = model(x)
                total += loss_of(out, y).item() * len(y)
                correct += (out.argmax(1) == y).float().sum().item()
                seen += len(y)
        model.train()
        return total / max(seen, 1), correct / max(seen, 1)

    def save_checkpoint(improved=False):
        # Every rank's generators travel to rank 0, which alone writes the folder.
        rngs = gather_json(rng_state(device), world, device)
        if not lead:
            return
        data = encode_checkpoint(job, model, optimizer, state, history, best, rngs)
        # Best weights first: a kill between the two leaves a checkpoint that redoes this epoch.
        if improved:
            atomic(job["best"], data)
        atomic(ckpt_path, data)
        write_weights(os.path.join(out_dir, "weights.safetensors"), model, job)

    # Every process takes part in gathering the step's samples (job["logSamples"]); rank 0,
    # on node 0, which alone has the run folder, writes them (job["samplesLog"]).
    log_steps = bool(job.get("logSamples"))
    samples_log = job.get("samplesLog")
    if log_steps:
        if lead:
            trim_samples_log(samples_log, state["step"])
        if world > 1:
            dist.barrier()
    model.train()
    interrupted = False
    if lead:
        emit("start", rank=rank, world=world, device=str(device), torch=torch.__version__, startEpoch=state["epoch"], history=history)
    for epoch in range(state["epoch"], job["epochs"]):
        skip = state["batch"] if epoch == state["epoch"] else 0
        # A resumed epoch's time is the training time its checkpoint counted plus this run's, so
        # its throughput is images over the time that trained them (not over this run's alone).
        t0 = time.perf_counter() - (state.get("seconds", 0.0) if skip else 0.0)
        # A run resumed inside an epoch continues that epoch's sums: its metrics come out whole.
        sums = torch.tensor(state.get("sums", [0.0, 0.0, 0.0]) if skip else [0.0, 0.0, 0.0], dtype=torch.float64)
        # Time this process's step waited for its next batch (DataLoader workers not keeping up).
        data_wait = state.get("dataWait", 0.0) if skip else 0.0
        # Made before this epoch began (epoch_stream): its first batches are decoded already.
        chunks, stream = upcoming
        for index, chunk in zip(range(skip, batches), chunks):
            step_start = time.perf_counter()
            lr = learning_rate(cfg["optimizer"]["lr"], cfg["schedule"], epoch, state["samples"], state["step"])
            for g in optimizer.param_groups:
                g["lr"] = lr
            asked = time.perf_counter()
            x, y, ids = next(stream)
            data_wait += time.perf_counter() - asked
            k = len(y)
            read = samples_read(k, len(chunk), train.skip_corrupt, world, device)
            if read == 0:
                # Every sample of the batch was skipped as unreadable, on every process: as in
                # the embedded trainer, the batch is left out (no step, which would still move
                # the weights by momentum and weight decay).
                state = {**state, "epoch": epoch, "batch": index + 1}
                continue
            out = net(x)
            even = k * world == read
            loss = step_loss(losses_of(out, y), read, world)
            decay = cfg["weightDecay"] * sum((w * w).sum() for w in kernels) if cfg["weightDecay"] > 0 else None
            if decay is not None:
                loss = loss + decay
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            hits = (out.detach().argmax(1) == y).float()
            if even:
                loss_sum, acc_sum = loss.item() * k, hits.mean().item() * k
            else:
                loss_sum = losses_of(out.detach(), y).sum().item() + (decay.item() * k if decay is not None else 0.0)
                acc_sum = hits.sum().item()
            # archc asks for a stop by creating the stop file (signals work too, e.g. from a
            # scheduler); every process stops at the same step because the flag is reduced.
            asked = stop["asked"] or os.path.exists(job["stopFile"])
            step = torch.tensor([loss_sum, acc_sum, k, 1.0 if asked else 0.0], dtype=torch.float64)
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
                "dataWait": data_wait,
            }
            if log_steps:
                read = gather_json(ids, world, device)
                if lead:
                    log_samples(samples_log, [{"epoch": epoch, "step": state["step"], "rank": r, "samples": read[r]} for r in range(world)])
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
        # The next epoch's workers decode its first batches during this one's recalibration,
        # evaluation and checkpoint, so that its first step does not wait for them.
        upcoming = epoch_stream(epoch + 1, 0) if epoch + 1 < job["epochs"] else None
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
            "dataWaitSeconds": data_wait,
        }
        state = {**state, "epoch": epoch + 1, "batch": 0, "sums": [0.0, 0.0, 0.0], "seconds": 0.0, "dataWait": 0.0}
        history.append(metrics)
        improved = v is not None and (best is None or v[0] < best["valLoss"])
        if improved:
            best = {"epoch": epoch + 1, "valLoss": v[0], "valAccuracy": v[1]}
        save_checkpoint(improved)
        if lead:
            # archc writes metrics.jsonl and metrics.csv from the history, as for its own engine.
            emit("epoch", metrics=metrics, history=history)
        if world > 1:
            dist.barrier()
    # The loaders' workers are kept between epochs: stopped here, not left to interpreter exit.
    for data in (train, val):
        if data is not None:
            data.close()
    if lead:
        emit("done", interrupted=interrupted, best=best)
    if world > 1:
        dist.destroy_process_group()
        # Leave without the destructors. Freeing DDP's Reducer joins gloo's worker threads while
        # this thread holds the GIL, and a gloo thread freeing a tensor that has a Python object
        # waits for the GIL: torch 1.13 deadlocks there, one of its threads spinning on the dead
        # store's socket (a two-node test's worker was found so 30 minutes after its agent died).
        # Everything is written and reported by now.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


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
    watch_parent()
    # The workers torchrun starts are this agent's children: they watch this process.
    os.environ["ARCHC_PARENT_PID"] = str(os.getpid())
    run.main(argv)


if __name__ == "__main__":
    if sys.argv[1] == "--torchrun":
        torchrun(sys.argv[2:])
    else:
        try:
            main()
        except Refused as e:
            emit("error", message=str(e))
            sys.exit(1)
