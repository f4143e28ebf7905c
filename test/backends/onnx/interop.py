"""ONNX interop checks with independent tools (Debian's python3-onnx and python3-torch).

usage: interop.py check MODEL.onnx...
       interop.py torch MODEL.onnx INPUT.f32 OUTPUT.f32 N H W C
The second form rebuilds the model's single grouped Conv in PyTorch from the ONNX initializers
and compares PyTorch's output with onnxruntime's (OUTPUT.f32, NHWC)."""
import sys

import onnx
import onnx.numpy_helper
import torch
import torch.nn.functional as F


def check(paths):
    for p in paths:
        onnx.checker.check_model(onnx.load(p), full_check=True)
        print(f"ok {p}")


def torch_compare(model_path, input_path, output_path, n, h, w, c):
    model = onnx.load(model_path)
    inits = {t.name: torch.from_numpy(onnx.numpy_helper.to_array(t).copy()) for t in model.graph.initializer}
    convs = [node for node in model.graph.node if node.op_type == "Conv"]
    assert len(convs) == 1, f"expected one Conv, found {len(convs)}"
    conv = convs[0]
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in conv.attribute}
    weight = inits[conv.input[1]]
    bias = inits[conv.input[2]] if len(conv.input) > 2 else None
    top, left, bottom, right = attrs["pads"]
    x = torch.frombuffer(bytearray(open(input_path, "rb").read()), dtype=torch.float32).reshape(n, h, w, c)
    x = x.permute(0, 3, 1, 2)
    x = F.pad(x, (left, right, top, bottom))
    layer = torch.nn.Conv2d(c, weight.shape[0], tuple(attrs["kernel_shape"]), stride=tuple(attrs["strides"]),
                            dilation=tuple(attrs["dilations"]), groups=attrs["group"], bias=bias is not None)
    with torch.no_grad():
        layer.weight.copy_(weight)
        if bias is not None:
            layer.bias.copy_(bias)
        y = layer(x).permute(0, 2, 3, 1).reshape(-1)
    expected = torch.frombuffer(bytearray(open(output_path, "rb").read()), dtype=torch.float32)
    diff = (y - expected).abs().max().item()
    print(f"groups={attrs['group']} max abs diff {diff:.3g}")
    sys.exit(0 if diff < 1e-4 else 1)


if __name__ == "__main__":
    if sys.argv[1] == "check":
        check(sys.argv[2:])
    else:
        torch_compare(sys.argv[2], sys.argv[3], sys.argv[4], *map(int, sys.argv[5:9]))
