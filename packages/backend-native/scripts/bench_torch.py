"""PyTorch side of the benchmark: one workload, prints one JSON line.

    python3 bench_torch.py <workload> <batch> <warmup> <steps> <threads>

ResNet-20 is the paper's CIFAR network with option-A shortcuts, written out
here because torchvision has no CIFAR ResNets; ResNet-50 and VGG-16 are
torchvision's. Inputs are NCHW, PyTorch's native layout.
"""
import json
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.pad = cout - cin
        self.stride = stride

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        s = x
        if self.stride != 1 or self.pad:
            # Option A: subsample, then zero-pad the extra channels.
            s = F.pad(x[:, :, :: self.stride, :: self.stride], (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))
        return F.relu(y + s)


def resnet20(classes=10):
    layers = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
    cin = 16
    for i, width in enumerate([16, 32, 64]):
        for b in range(3):
            layers.append(BasicBlock(cin, width, 2 if (i > 0 and b == 0) else 1))
            cin = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, classes)]
    return nn.Sequential(*layers)


WORKLOADS = {
    "resnet20-train": (lambda: resnet20(), 32, 10, True),
    "resnet50-train": (lambda: torchvision.models.resnet50(), 224, 1000, True),
    "resnet50-forward": (lambda: torchvision.models.resnet50(), 224, 1000, False),
    "vgg16-train": (lambda: torchvision.models.vgg16(), 224, 1000, True),
}


def main():
    name, batch, warmup, steps, threads = sys.argv[1], *map(int, sys.argv[2:6])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    make, size, classes, train = WORKLOADS[name]
    model = make()
    x = torch.randn(batch, 3, size, size)
    y = torch.randint(0, classes, (batch,))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        if not train:
            model.eval()
            with torch.no_grad():
                model(x)
            return
        model.train()
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    median = times[len(times) // 2]
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"stepMs": median, "imagesPerSec": batch * 1000 / median, "maxRssMB": rss_mb}))


if __name__ == "__main__":
    main()
