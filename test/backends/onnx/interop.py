"""Independent checks of archc's ONNX files, with Debian's python3-onnx and python3-torch.

usage: interop.py check MODEL.onnx...
    The official checker with full_check (schema, types and strict shape inference) on each
    model; one JSON line per model. Exits 1 if any fails.

usage: interop.py torch CASE.json
    Rebuilds a stack of convolutions in PyTorch with nn.Conv2d(groups=...) from the weights in
    CASE.json, given in tfjs' own layouts (HWIO [kh, kw, cin/groups, filters] for Conv2D and
    GroupedConv2D, [kh, kw, cin, multiplier] for DepthwiseConv2D), runs it on CASE's input and
    prints the largest differences from onnxruntime-node's output and tfjs' output for it, as JSON.
"""

import json
import math
import sys

import onnx
import torch
import torch.nn.functional as F


def check(paths):
    failed = False
    for path in paths:
        model = onnx.load(path)
        entry = {"file": path, "ir_version": model.ir_version,
                 "opset": [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")]}
        try:
            onnx.checker.check_model(model, full_check=True)
            entry["ok"] = True
            entry["ops"] = sorted({n.op_type for n in model.graph.node})
        except Exception as e:  # the checker raises ValidationError and InferenceError
            entry["ok"] = False
            entry["error"] = str(e).splitlines()[0][:500]
            failed = True
        print(json.dumps(entry), flush=True)
    sys.exit(1 if failed else 0)


def tf_same_pads(size, kernel, stride, dilation):
    """TensorFlow's documented 'same' padding: output ceil(in / stride), extra pixel at the end."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def torch_weight(layer):
    k = torch.tensor(layer["kernel"], dtype=torch.float32).reshape(layer["kernel_shape"])
    if layer["class"] == "DepthwiseConv2D":
        kh, kw, cin, m = layer["kernel_shape"]
        # tfjs' output channel c * m + j is torch's group c, filter j: [cin * m, 1, kh, kw].
        return k.permute(2, 3, 0, 1).reshape(cin * m, 1, kh, kw)
    return k.permute(3, 2, 0, 1)  # HWIO -> OIHW, the layout nn.Conv2d keeps


def run_torch(case):
    n, h, w, c = case["input_shape"]
    x = torch.tensor(case["input"], dtype=torch.float32).reshape(n, h, w, c).permute(0, 3, 1, 2)
    for layer in case["layers"]:
        weight = torch_weight(layer)
        kh, kw = weight.shape[2], weight.shape[3]
        (sh, sw), (dh, dw) = layer["strides"], layer["dilation"]
        if layer["padding"] == "same":
            top, bottom = tf_same_pads(x.shape[2], kh, sh, dh)
            left, right = tf_same_pads(x.shape[3], kw, sw, dw)
            x = F.pad(x, (left, right, top, bottom))
        conv = torch.nn.Conv2d(x.shape[1], weight.shape[0], (kh, kw), stride=(sh, sw),
                               dilation=(dh, dw), groups=layer["groups"],
                               bias=layer["bias"] is not None)
        with torch.no_grad():
            conv.weight.copy_(weight)
            if layer["bias"] is not None:
                conv.bias.copy_(torch.tensor(layer["bias"], dtype=torch.float32))
            x = conv(x)
        if layer["activation"] == "relu":
            x = torch.relu(x)
    return x.permute(0, 2, 3, 1).reshape(-1)


def compare(case_path):
    with open(case_path) as f:
        case = json.load(f)
    with torch.no_grad():
        y = run_torch(case)
    result = {"torch": torch.__version__, "onnx": onnx.__version__, "elements": y.numel()}
    for key in ("onnxruntime", "tfjs"):
        other = torch.tensor(case[key], dtype=torch.float32)
        if other.numel() != y.numel():
            result[key] = math.inf
        else:
            result[key] = (y - other).abs().max().item()
    print(json.dumps(result))


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "check":
        check(sys.argv[2:])
    elif len(sys.argv) == 3 and sys.argv[1] == "torch":
        compare(sys.argv[2])
    else:
        sys.exit(__doc__)
