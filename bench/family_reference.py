"""Reference figures for the continuum family in specs/: parameters and MACs of torchvision's
resnet50, resnext50_32x4d, mobilenet_v2, regnet_y_400mf, regnet_x_400mf, mobilenet_v3_large,
efficientnet_b0, shufflenet_v2_x1_0, convnext_tiny, googlenet (without auxiliary classifiers) and
squeezenet1_1, and of two networks torchvision lacks, written here in PyTorch from their
papers: MobileNet v1 (Howard et al. 2017, Table 1) and ShuffleNet v1 (Zhang et al. 2018, Table 1, scale 1x, groups 1, 2, 3, 4, 8).

usage: family_reference.py [NAME ...]
       family_reference.py --compare MODULE.py NAME SIZE CLASSES
    The first form prints one JSON object {NAME: {"params", "buffers", "macs"}} for the named
    models (all when none are named), at 224x224x3 and 1000 classes, batch 1, in eval mode.
    The second loads the network class of MODULE.py (archc compile --target torch), gives it the
    reference model's weights tensor by tensor in registration order (random batch-norm
    statistics, so the check means something; each batch norm's epsilon taken from archc's) and
    prints {"diff", "spread", "tensors"}: the largest difference of log-probabilities on a
    random SIZExSIZE batch of 2, and their spread.

    params  sum(p.numel()) over parameters: archc's trainable count.
    buffers batch norms' running means and variances (num_batches_tracked is not a weight):
            archc counts them as non-trainable, so archc's total is params + buffers.
    macs    forward hooks counting conv (output elements * in/groups * kh * kw) and linear
            (in * out) only, without biases: the convention of archc's MACs. Pools, batch
            norms, activations, additions and squeeze-and-excitation's multiply count 0.

Debian's python3-torch and python3-torchvision (torch 1.13, torchvision 0.14) give the figures
pinned by the specs' expect blocks; test/language/family.test.ts runs this script.
"""
import json
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision


def conv_bn(cin, cout, k, stride=1, groups=1, act=True):
    layers = [
        nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    ]
    if act:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class MobileNetV1(nn.Module):
    """Howard et al. 2017, Table 1 at width 1.0: a 3x3/2 convolution of 32 filters, then 13
    depthwise separable units (3x3 depthwise + BN + ReLU, 1x1 + BN + ReLU), average pool, FC.
    The table's second-to-last depthwise layer says s2, but its input and output are both 7x7:
    it has stride 1, as in every implementation."""

    # (pointwise filters, depthwise stride) of the 13 units
    UNITS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [
        (1024, 2),
        (1024, 1),
    ]

    def __init__(self, classes=1000):
        super().__init__()
        layers = [conv_bn(3, 32, 3, 2)]
        cin = 32
        for cout, stride in self.UNITS:
            layers += [conv_bn(cin, cin, 3, stride, groups=cin), conv_bn(cin, cout, 1)]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1))


class ShuffleUnit(nn.Module):
    """Zhang et al. 2018, Figure 2 (b) and (c): 1x1 group conv + BN + ReLU, channel shuffle,
    3x3 depthwise (stride) + BN, 1x1 group conv + BN; added to the input (stride 1) or
    concatenated with a 3x3/2 average pool of it (stride 2), then ReLU. The bottleneck is a
    quarter of the unit's output channels; the first 1x1 of stage 2 is not grouped (its input
    has only 24 channels)."""

    def __init__(self, cin, cout, groups, stride, first):
        super().__init__()
        self.stride, self.groups = stride, groups
        mid = cout // 4
        branch = cout - cin if stride == 2 else cout
        self.reduce = conv_bn(cin, mid, 1, groups=1 if first else groups)
        self.depthwise = conv_bn(mid, mid, 3, stride, groups=mid, act=False)
        self.expand = conv_bn(mid, branch, 1, groups=groups, act=False)

    def forward(self, x):
        y = self.reduce(x)
        if self.groups > 1:
            n, c, h, w = y.shape
            y = y.view(n, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(n, c, h, w)
        y = self.expand(self.depthwise(y))
        if self.stride == 1:
            return F.relu(x + y)
        return F.relu(torch.cat([F.avg_pool2d(x, 3, 2, 1), y], 1))


class ShuffleNetV1(nn.Module):
    """Table 1, scale 1x: stage output channels per group count; 4, 8 and 4 units."""

    WIDTHS = {1: 144, 2: 200, 3: 240, 4: 272, 8: 384}

    def __init__(self, groups=3, classes=1000):
        super().__init__()
        layers = [conv_bn(3, 24, 3, 2), nn.MaxPool2d(3, 2, 1)]
        cin = 24
        for stage, repeats in enumerate([4, 8, 4]):
            cout = self.WIDTHS[groups] * 2**stage
            for i in range(repeats):
                layers.append(ShuffleUnit(cin, cout, groups, 2 if i == 0 else 1, stage == 0 and i == 0))
                cin = cout
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1))


MODELS = {
    "resnet50": lambda: torchvision.models.resnet50(),
    "resnext50_32x4d": lambda: torchvision.models.resnext50_32x4d(),
    "mobilenet_v2": lambda: torchvision.models.mobilenet_v2(),
    "regnet_y_400mf": lambda: torchvision.models.regnet_y_400mf(),
    "regnet_x_400mf": lambda: torchvision.models.regnet_x_400mf(),
    "shufflenet_v2_x1_0": lambda: torchvision.models.shufflenet_v2_x1_0(),
    "googlenet": lambda: torchvision.models.googlenet(aux_logits=False, init_weights=False),
    "squeezenet1_1": lambda: torchvision.models.squeezenet1_1(),
    "mobilenet_v3_large": lambda: torchvision.models.mobilenet_v3_large(),
    "efficientnet_b0": lambda: torchvision.models.efficientnet_b0(),
    "convnext_tiny": lambda: torchvision.models.convnext_tiny(),
    "mobilenet_v1": lambda: MobileNetV1(),
    **{f"shufflenet_v1_g{g}": (lambda g=g: ShuffleNetV1(groups=g)) for g in [1, 2, 3, 4, 8]},
}


def count(model):
    macs = 0

    def hook(module, inputs, output):
        nonlocal macs
        if isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            macs += output.numel() * (module.in_channels // module.groups) * kh * kw
        elif isinstance(module, nn.Linear):
            # ConvNeXt's Linear layers run at every position of a channels-last map.
            macs += output.numel() * module.in_features

    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            m.register_forward_hook(hook)
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, 224, 224))
    params = sum(p.numel() for p in model.parameters())
    buffers = sum(
        m.running_mean.numel() + m.running_var.numel()
        for m in model.modules()
        if isinstance(m, nn.BatchNorm2d)
    )
    return {"params": params, "buffers": buffers, "macs": macs}


def compare(module_path, name, size, classes):
    import importlib.util

    spec = importlib.util.spec_from_file_location("archc_generated", module_path)
    generated = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generated)
    key = name.split("_g")[0].replace("_", "").lower()
    cls = next(getattr(generated, n) for n in dir(generated) if n.lower() == key)
    ours = cls(classes=classes).eval()
    ref = MODELS[name]()
    ref.fc = nn.Linear(ref.fc.in_features, classes)
    ref.eval()
    torch.manual_seed(0)
    for m in ref.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.0)
            m.bias.data.uniform_(-0.1, 0.1)
    ref_bns = [m for m in ref.modules() if isinstance(m, nn.BatchNorm2d)]
    our_bns = [m for m in ours.modules() if isinstance(m, nn.BatchNorm2d)]
    if len(ref_bns) != len(our_bns):
        sys.exit(f"{len(our_bns)} batch norms in {module_path}, {len(ref_bns)} in {name}")
    for r, o in zip(ref_bns, our_bns):
        r.eps = o.eps
    skip = lambda k: k.endswith("num_batches_tracked")
    theirs = [(k, v) for k, v in ref.state_dict().items() if not skip(k)]
    mine = [(k, v) for k, v in ours.state_dict().items() if not skip(k)]
    if len(theirs) != len(mine):
        sys.exit(f"{len(mine)} tensors in {module_path}, {len(theirs)} in {name}")
    state = {}
    for (rk, rv), (ok, ov) in zip(theirs, mine):
        v = rv if rv.shape == ov.shape else rv.t()
        if v.shape != ov.shape:
            sys.exit(f"{ok} {list(ov.shape)} does not fit {name}'s {rk} {list(rv.shape)}")
        state[ok] = v.clone()
    ours.load_state_dict(state)
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        want = ref(x).log_softmax(1)
        got = ours(x).log()  # archc's classifier ends in softmax
    diff = (want - got).abs().max().item()
    spread = (want.max() - want.min()).item()
    return {"diff": diff, "spread": spread, "tensors": len(mine)}


if __name__ == "__main__":
    torch.set_num_threads(1)
    if sys.argv[1:2] == ["--compare"]:
        module_path, name, size, classes = sys.argv[2:6]
        print(json.dumps(compare(module_path, name, int(size), int(classes))))
        sys.exit(0)
    names = sys.argv[1:] or list(MODELS)
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        sys.exit(f"unknown model {', '.join(unknown)}; known: {', '.join(MODELS)}")
    print(json.dumps({n: count(MODELS[n]()) for n in names}, indent=1))
