// The bench's comparison with torchvision: the same transform with PIL and
// a DataLoader, run by Debian's python3-torch / python3-torchvision.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pinned } from './children.mjs';
import { batchSize, flag, photoList } from './options.mjs';

const PYTHON = '/usr/bin/python3';
const TORCH_SCRIPT = String.raw`
import json, random, resource, sys, time
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
import torchvision.transforms as T
import torchvision.transforms.functional as F

paths, count, workers = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(1)

class ScaleAugmentation:
    """ResNet paper: shorter side resized to a random S in [256, 480]."""
    def __call__(self, img):
        return F.resize(img, random.randint(256, 480))

class Lighting:
    """AlexNet PCA lighting as in fb.resnet.torch (on the 0..1 scale)."""
    eigval = torch.tensor([0.2175, 0.0188, 0.0045])
    eigvec = torch.tensor([[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140], [-0.5836, -0.6948, 0.4203]])
    def __call__(self, x):
        alpha = torch.randn(3) * 0.1
        return x + (self.eigvec @ (alpha * self.eigval)).view(3, 1, 1)

transform = T.Compose([
    ScaleAugmentation(), T.RandomCrop(224), T.RandomHorizontalFlip(), T.ToTensor(), Lighting(),
    T.Normalize([0.485, 0.456, 0.406], [1.0, 1.0, 1.0]),
])

class Photos(Dataset):
    def __len__(self):
        return count
    def __getitem__(self, i):
        with open(paths[i % len(paths)], 'rb') as f:
            return transform(Image.open(f).convert('RGB')), 0

loader = DataLoader(Photos(), batch_size=${batchSize}, shuffle=True, num_workers=workers, drop_last=True, persistent_workers=False)
seen = timed = 0
start = None
for x, y in loader:
    if start is None:
        start = time.perf_counter()
    else:
        timed += x.shape[0]
    seen += x.shape[0]
del loader
cpu = sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN) for f in ("ru_utime", "ru_stime"))
print(json.dumps({"imagesPerSecond": timed / (time.perf_counter() - start), "imagesPerCpuSecond": seen / cpu, "cpuMsPerImage": 1000 * cpu / seen, "seen": seen}))
`;

export function torchAvailable() {
  if (flag('skip-torch')) return '--skip-torch';
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const probe = spawnSync(PYTHON, ['-c', 'import torch, torchvision, PIL'], { encoding: 'utf8' });
  return probe.status === 0 ? null : 'python3-torch / python3-torchvision not installed';
}

export function runTorch(cores, count) {
  const dir = mkdtempSync(join(tmpdir(), 'imagenet-bench-'));
  const script = join(dir, 'bench_torchvision.py');
  writeFileSync(script, TORCH_SCRIPT);
  return pinned(cores, PYTHON, [script, JSON.stringify(photoList()), String(count), String(cores)]);
}
