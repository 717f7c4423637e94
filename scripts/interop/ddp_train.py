#!/usr/bin/env python3
"""Train a ResNet saved by @convnets/resnet with PyTorch DistributedDataParallel.

    python3 ddp_train.py model.pth trained.pth [logits.json]

model.pth: `await saveWeights(resnet18({ classes: 10, inputShape: [32, 32, 3] }), 'model.pth')`.
Two processes on this machine (MASTER_ADDR, MASTER_PORT: 127.0.0.1:29500 unless
set), backend gloo (CPUs; on GPUs: "nccl", `model.cuda(rank)` and
`DistributedDataParallel(model, device_ids=[rank])`). Launched by torchrun
(RANK set), it runs as that one process instead. Each process trains on its own
batches (random ones here); DDP averages the gradients, so every process holds
the same weights after each step. Rank 0 saves them; back in Node:
`await loadWeights(net, 'trained.pth', { from: 'torchvision' })`.
With logits.json, rank 0 also writes a fixed input and the trained model's
eval-mode logits there (what CI's interop task compares with ours).
"""

import json
import os
import sys

import torch
import torch.distributed as dist
import torch.nn.functional as F
import torchvision
from torch.nn.parallel import DistributedDataParallel

WORLD_SIZE, STEPS, BATCH, CLASSES, SIZE = 2, 5, 8, 10, 32


def train(rank, world_size, source, target, logits_json=None):
    dist.init_process_group("gloo", rank=rank, world_size=world_size)  # at MASTER_ADDR:MASTER_PORT
    torch.manual_seed(rank)
    model = torchvision.models.resnet18(num_classes=CLASSES)
    model.load_state_dict(torch.load(source, weights_only=True))
    ddp = DistributedDataParallel(model)
    optimizer = torch.optim.SGD(ddp.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    ddp.train()
    for step in range(STEPS):
        x = torch.randn(BATCH, 3, SIZE, SIZE)  # this process's share of a batch
        y = torch.randint(0, CLASSES, (BATCH,))
        loss = F.cross_entropy(ddp(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        print(f"rank {rank} step {step}: loss {loss.item():.4f}")
    if rank == 0:
        torch.save(ddp.module.state_dict(), target)  # without DDP's "module." prefix
        if logits_json:
            model.eval()
            x = torch.randn(2, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(0))
            with torch.no_grad():
                logits = model(x)
            with open(logits_json, "w") as f:
                json.dump({"worldSize": dist.get_world_size(), "steps": STEPS, "classes": CLASSES,
                           "inputNCHW": x.tolist(), "logits": logits.tolist()}, f)
    dist.destroy_process_group()


if __name__ == "__main__":
    if "RANK" in os.environ:  # started by torchrun, once per process
        train(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), *sys.argv[1:])
    else:
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ.setdefault("MASTER_PORT", "29500")
        torch.multiprocessing.spawn(train, args=(WORLD_SIZE, *sys.argv[1:]), nprocs=WORLD_SIZE)
