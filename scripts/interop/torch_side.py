#!/usr/bin/env python3
"""PyTorch's side of the interop task (scripts/interop/run.mjs runs it).

    check-ours DIR   (1) torchvision loads what @convnets saveWeights wrote, strictly,
                     and computes the logits our models gave
    save DIR         (2) torch.save a torchvision state dict three ways, with its logits

The model definitions are torchvision's; the "trained-looking" BN statistics and
the hand-written safetensors reader are the CIFAR fixture generator's.
"""

import collections
import json
import os
import sys

import torch
import torch.nn as nn
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fixtures"))
from generate_cifar_fixtures import read_safetensors, trained_looking  # noqa: E402

# float32 on both sides, with different summation orders (PyTorch's GEMMs,
# tfjs' kernels): the logits agree to about 1e-6 of the largest one; a wrong
# name, layout or BN statistic moves them by far more (by 10-90% of the largest
# in trials: one BN variance reset, one mean zeroed, one kernel's H and W swapped).
TOLERANCE = 1e-4


def torchvision_net(arch, num_classes, size):
    """torchvision's network of that name; VGG sized for its small input."""
    if arch == "resnet18":
        return torchvision.models.resnet18(num_classes=num_classes)
    if arch == "vgg11_bn":
        net = torchvision.models.vgg11_bn(num_classes=num_classes)
        # torchvision's VGG pools the last features to 7×7 for a 512·7·7 first
        # classifier layer, sized for 224×224 inputs; ours flattens the
        # features it has: 512 × (size/32)² of them.
        s = size // 32
        net.avgpool = nn.AdaptiveAvgPool2d((s, s))
        net.classifier[0] = nn.Linear(512 * s * s, 4096)
        return net
    raise ValueError(f"unknown arch {arch!r}")


def compare(what, logits, expected):
    """One PASS line, or an exception naming the difference."""
    expected = torch.tensor(expected, dtype=torch.float32)
    assert logits.shape == expected.shape, f"{what}: logits {tuple(logits.shape)}, expected {tuple(expected.shape)}"
    diff = (logits - expected).abs().max().item()
    scale = expected.abs().max().item()
    line = f"{what}: max |ours - torch| = {diff:.3g}, max |logit| {scale:.3g}, tolerance {TOLERANCE:g} × {scale:.3g}"
    if not diff <= TOLERANCE * scale:
        raise AssertionError(line)
    print(f"  ok {line}")
    return diff


def eval_logits(net, x):
    net.eval()
    with torch.no_grad():
        return net(x)


def check_ours(folder):
    for name in ("resnet18", "vgg11_bn"):
        with open(os.path.join(folder, f"{name}.json")) as f:
            ours = json.load(f)
        pth = os.path.join(folder, f"{name}.pth")
        state = torch.load(pth, weights_only=True)
        plain = torch.load(pth)
        assert isinstance(state, collections.OrderedDict), type(state)
        assert list(state) == list(plain) and all(torch.equal(state[k], plain[k]) for k in state)
        assert all(t.dtype == torch.float32 and t.is_contiguous() for t in state.values())
        # The .safetensors holds the same tensors, in the same order.
        names, arrays = read_safetensors(os.path.join(folder, f"{name}.safetensors"))
        assert names == list(state), "safetensors and .pth name different tensors"
        for k in names:
            assert torch.equal(torch.from_numpy(arrays[k].copy()), state[k]), f"{k} differs"

        net = torchvision_net(name, ours["classes"], ours["size"])
        result = net.load_state_dict(state, strict=True)
        assert not result.missing_keys and not result.unexpected_keys, result
        logits = eval_logits(net, torch.tensor(ours["inputNCHW"], dtype=torch.float32))
        compare(f"{name} ({len(state)} tensors, .pth = .safetensors)", logits, ours["logits"])


def save(folder):
    torch.manual_seed(15)
    net = trained_looking(torchvision.models.resnet18(num_classes=10))
    state = net.state_dict()
    files = {
        "zip.pth": state,
        "legacy.pth": state,
        # What a DataParallel/DDP training script typically saves.
        "checkpoint.pth": {
            "epoch": 3,
            "state_dict": collections.OrderedDict((f"module.{k}", v) for k, v in state.items()),
            "optimizer": torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9).state_dict(),
        },
    }
    for file, obj in files.items():
        torch.save(obj, os.path.join(folder, file), _use_new_zipfile_serialization=file != "legacy.pth")
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(16))
    with open(os.path.join(folder, "torch.json"), "w") as f:
        json.dump({"files": list(files), "classes": 10, "inputNCHW": x.tolist(),
                   "logits": eval_logits(net, x).tolist()}, f)
    print(f"  torch {torch.__version__}, torchvision {torchvision.__version__}: wrote {', '.join(files)}")


if __name__ == "__main__":
    {"check-ours": check_ours, "save": save}[sys.argv[1]](sys.argv[2])
