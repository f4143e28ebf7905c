"""Loads the weights of archc's model into torchvision's model of the same network and prints how
far torchvision's logits are from archc's on the same input (test/backends/torch/torchvision.test.ts).

usage: parity.py CASES.json   (one JSON line per case)

Each case names a torchvision constructor and gives archc's side: its weights under the generated
PyTorch module's state-dict keys (safetensors, layouts already PyTorch's), the structure of its
graph (each node's inputs and the keys of the tensors it holds), an NHWC input and archc's logits.

Which of archc's layers is which of torchvision's modules is decided by position in the data flow,
not by names (the two name things differently) nor by declaration order (torchvision registers
RegNet's projection shortcut before the block it bypasses, ResNet's after): a layer holding
weights (a "unit") sits at depth d (units on the longest path from the input, itself included)
and height h (the same towards the output). Both sides' units are sorted by (d, h) and matched
in that order, each pair checked tensor by tensor for shape; units that share (d, h) are matched
by shape, in each side's own order when shapes repeat (counted as "ambiguous" in the output).
Any disagreement is an error naming the unit on both sides.
"""
import json
import struct
import sys

import numpy as np
import torch
import torch.fx
import torchvision


class Mismatch(Exception):
    pass


def read_safetensors(path):
    """archc's safetensors as numpy arrays. The test's own reader of the format archc writes, on
    purpose not compiler/lab/torch/runner.py's (a training script, not a public helper, that
    returns torch tensors): a fault in archc's writer must not be read back by archc's reader."""
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        start, end = t["data_offsets"]
        out[name] = np.frombuffer(data[start:end], dtype=np.float32).reshape(t["shape"])
    return out


def positions(nodes):
    """(depth, height) of each unit. nodes: topologically ordered dicts with "inputs" (indices)
    and "keys" (the unit's tensors; empty for layers without weights)."""
    n = len(nodes)
    unit = [1 if node["keys"] else 0 for node in nodes]
    depth = [0] * n
    for i, node in enumerate(nodes):
        depth[i] = max((depth[j] for j in node["inputs"]), default=0) + unit[i]
    consumers = [[] for _ in range(n)]
    for i, node in enumerate(nodes):
        for j in node["inputs"]:
            consumers[j].append(i)
    height = [0] * n
    for i in reversed(range(n)):
        height[i] = max((height[j] for j in consumers[i]), default=0) + unit[i]
    return [(depth[i], height[i], i) for i in range(n) if unit[i]]


class Tracer(torch.fx.Tracer):
    """torch.fx's tracer, able to follow ShuffleNet v2: its `channel_shuffle` unpacks
    `x.size()` into Python ints, which a trace cannot, so the function is kept whole (a call
    with no tensors of its own, like a reshape); and `x1, x2 = x.chunk(2, dim=1)` unpacks a
    traced value, which torch 1.13's tracer recognises only in older Python bytecode."""

    def __init__(self):
        super().__init__(autowrap_functions=(torchvision.models.shufflenetv2.channel_shuffle,))

    def iter(self, obj):
        node = obj.node
        if node.op == "call_method" and node.target == "chunk":
            chunks = node.args[1] if len(node.args) > 1 else node.kwargs["chunks"]
            return iter([obj[i] for i in range(chunks)])
        return super().iter(obj)


def torchvision_graph(model):
    """The model's data flow as traced by torch.fx, in positions()'s form: a unit is a module
    call with tensors of its own (conv, batch norm, linear), its keys those of the state dict
    (num_batches_tracked, a counter PyTorch keeps, left out)."""
    traced = torch.fx.GraphModule(model, Tracer().trace(model))
    fx_nodes = list(traced.graph.nodes)
    index = {node: i for i, node in enumerate(fx_nodes)}
    state = model.state_dict()
    nodes = []
    for node in fx_nodes:
        keys = []
        if node.op == "call_module":
            module = traced.get_submodule(node.target)
            for k in module.state_dict(keep_vars=True):
                if "." not in k and not k.endswith("num_batches_tracked"):
                    keys.append(f"{node.target}.{k}")
        elif node.op in ("call_function", "call_method"):
            # Parameters a module reads directly (ConvNeXt's layer_scale, LayerNorm2d's weight and
            # bias, traced through): the operation that uses them is the unit that holds them.
            keys = [str(a.target) for a in node.all_input_nodes if a.op == "get_attr" and str(a.target) in state]
        inputs = [index[a] for a in node.all_input_nodes if a.op != "get_attr"]
        nodes.append({"name": str(node.target), "inputs": inputs, "keys": keys})
    return nodes


def describe(node, shapes):
    return f"{node['name']} {[list(shapes[k]) for k in node['keys']]}"


def match(archc_nodes, archc_shapes, tv_nodes, tv_shapes):
    """Pairs of (archc key, torchvision key), and how many units were matched by order alone."""
    a_units, t_units = positions(archc_nodes), positions(tv_nodes)
    shape_of = lambda nodes, shapes, i: tuple(tuple(shapes[k]) for k in nodes[i]["keys"])
    if len(a_units) != len(t_units):
        raise Mismatch(f"archc has {len(a_units)} layers with weights, torchvision {len(t_units)}")
    groups = {}
    for side, units in ((0, a_units), (1, t_units)):
        for d, h, i in units:
            groups.setdefault((d, h), ([], []))[side].append(i)
    pairs, ambiguous = [], 0
    for (d, h) in sorted(groups):
        a_list, t_list = groups[(d, h)]
        where = f"at depth {d}, height {h}"
        if len(a_list) != len(t_list):
            raise Mismatch(
                f"{where}: archc has {[describe(archc_nodes[i], archc_shapes) for i in a_list]}, "
                f"torchvision {[describe(tv_nodes[i], tv_shapes) for i in t_list]}"
            )
        left = list(t_list)
        for i in a_list:
            s = shape_of(archc_nodes, archc_shapes, i)
            fits = lambda j: len(tv_nodes[j]["keys"]) == len(s) and all(
                np.squeeze(np.empty(a)).shape == np.squeeze(np.empty(b)).shape
                for a, b in zip(s, shape_of(tv_nodes, tv_shapes, j))
            )
            candidates = [j for j in left if fits(j)]
            if not candidates:
                raise Mismatch(
                    f"{where}: archc's {describe(archc_nodes[i], archc_shapes)} has no counterpart "
                    f"among torchvision's {[describe(tv_nodes[j], tv_shapes) for j in left]}"
                )
            if len(candidates) > 1:
                ambiguous += 1
            j = candidates[0]
            left.remove(j)
            pairs.extend(zip(archc_nodes[i]["keys"], tv_nodes[j]["keys"]))
    return pairs, ambiguous


def run(case):
    model = getattr(torchvision.models, case["model"])(weights=None, **case.get("kwargs", {})).eval()
    state = model.state_dict()
    archc = read_safetensors(case["weights"])
    archc_nodes = case["graph"]
    missing = sorted({k for n in archc_nodes for k in n["keys"]} - set(archc))
    if missing:
        raise Mismatch(f"archc's graph names tensors its weights lack: {missing[:3]}")
    archc_shapes = {k: v.shape for k, v in archc.items()}
    tv_nodes = torchvision_graph(model)
    tv_shapes = {k: tuple(state[k].shape) for n in tv_nodes for k in n["keys"]}
    pairs, ambiguous = match(archc_nodes, archc_shapes, tv_nodes, tv_shapes)
    covered = {t for _, t in pairs}
    uncovered = [k for k in state if k not in covered and not k.endswith("num_batches_tracked")]
    if uncovered:
        raise Mismatch(f"torchvision tensors no archc layer fills: {uncovered[:3]}")
    loaded = dict(state)
    for a, t in pairs:
        loaded[t] = torch.from_numpy(archc[a].copy()).reshape(state[t].shape)
    model.load_state_dict(loaded, strict=True)
    x = torch.from_numpy(np.fromfile(case["input"], dtype=np.float32).reshape(case["input_shape"]))
    x = x.permute(0, 3, 1, 2).contiguous()
    with torch.no_grad():
        y = model(x).reshape(-1).numpy()
    ref = np.fromfile(case["archc"], dtype=np.float32)
    if ref.size != y.size:
        raise Mismatch(f"archc gives {ref.size} logits, torchvision {y.size}")
    diff = float(np.abs(ref - y).max())
    out = {}
    if diff >= 1e-4 and case.get("noise", True):
        # How far float32 rounding alone takes torchvision itself on these weights (its float64
        # logits as the truth), and archc: deep networks with random weights and calibrated batch
        # norms amplify rounding to ~1e-4 of O(1) logits (ResNet-50 at 64x64: 5e-5 to 2e-4).
        with torch.no_grad():
            y64 = model.double()(x.double()).reshape(-1).numpy()
        out = {"noise": float(np.abs(y - y64).max()), "float64": float(np.abs(ref - y64).max())}
    return {
        "diff": diff,
        **out,
        "scale": float(np.abs(y).max()),
        "units": len(positions(tv_nodes)),
        "tensors": len(pairs),
        "ambiguous": ambiguous,
    }


def main():
    torch.set_num_threads(2)
    for case in json.load(open(sys.argv[1])):
        try:
            out = {"name": case["name"], **run(case)}
        except Mismatch as e:
            out = {"name": case["name"], "error": f"archc's {case['spec']} vs torchvision's {case['model']}: {e}"}
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
