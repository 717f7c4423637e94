// `npm run bench`: images/s of the ResNet paper training transform (random
// shorter side in [256, 480], random 224×224 crop, flip, PCA lighting, mean
// subtraction) producing [32, 224, 224, 3] float32 batches from the real
// ImageNet photos in ../shared/data/imagenet-sample, on 1 and on 2 cores;
// then torchvision's equivalent (PIL + DataLoader with as many workers as
// cores) in the same run when Debian's python3-torch/python3-torchvision are
// installed, and the ratio. Also the resident memory over 10,000 images.
//
// Options: --images N (per measurement, default 2000), --memory-images N
// (default 10000), --photos DIR.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync, mkdtempSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const photosDir = option(
  'photos',
  fileURLToPath(new URL('../../../../shared/data/imagenet-sample', import.meta.url)),
);
const images = Number(option('images', 2000));
const memoryImages = Number(option('memory-images', 10000));
const batchSize = 32;

function photoList() {
  if (!existsSync(photosDir)) {
    throw new Error(`bench: no photos at ${photosDir}; pass --photos DIR (a folder of JPEGs).`);
  }
  return readdirSync(photosDir)
    .filter((f) => /\.jpe?g$/i.test(f))
    .sort()
    .map((f) => join(photosDir, f));
}

async function worker(inFlight, count) {
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-cpu');
  const sharp = (await import('sharp')).default;
  const { createLoader, resnetPaperTrain } = await import('../dist/index.js');
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
  // Many images in flight, one libvips thread each: less locking than several threads per image.
  sharp.concurrency(1);
  const photos = photoList();
  const dataset = {
    classes: ['photo'],
    samples: Array.from({ length: count }, (_, i) => ({
      path: photos[i % photos.length],
      label: 0,
    })),
  };
  const rssStart = process.memoryUsage().rss;
  const cpuStart = process.cpuUsage();
  let rssMax = rssStart;
  const loader = createLoader(dataset, {
    transform: resnetPaperTrain(),
    batchSize,
    seed: 1,
    concurrency: inFlight,
    prefetch: 2,
  });
  let seen = 0;
  let started = 0;
  let timedImages = 0;
  const tensorsBefore = tf.memory().numTensors;
  for await (const { images: x, labels } of loader) {
    // The first batch pays for warm-up (thread pool, JIT); time the rest.
    if (seen === 0) started = performance.now();
    else timedImages += labels.shape[0];
    seen += labels.shape[0];
    tf.dispose([x, labels]);
    rssMax = Math.max(rssMax, process.memoryUsage().rss);
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  console.log(
    JSON.stringify({
      imagesPerSecond: timedImages / seconds,
      imagesPerCpuSecond: seen / cpuSeconds,
      seen,
      skipped: loader.stats.skipped.length,
      rssStartMB: rssStart / 2 ** 20,
      rssMaxMB: rssMax / 2 ** 20,
      rssEndMB: process.memoryUsage().rss / 2 ** 20,
      leakedTensors: tf.memory().numTensors - tensorsBefore,
    }),
  );
}

function hasTaskset() {
  return spawnSync('taskset', ['--version']).status === 0;
}

function pinned(cores, command, commandArgs, env = {}) {
  const cpuList = Array.from({ length: cores }, (_, i) => i).join(',');
  const [file, argv] = hasTaskset()
    ? ['taskset', ['-c', cpuList, command, ...commandArgs]]
    : [command, commandArgs];
  const out = execFileSync(file, argv, {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 24,
  });
  return JSON.parse(out.trim().split('\n').pop());
}

function runOurs(cores, count) {
  const script = fileURLToPath(import.meta.url);
  return pinned(
    cores,
    process.execPath,
    [
      script,
      '--worker',
      '--in-flight',
      String(2 * cores + 2),
      '--count',
      String(count),
      '--photos',
      photosDir,
    ],
    { UV_THREADPOOL_SIZE: String(2 * cores + 2) },
  );
}

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
print(json.dumps({"imagesPerSecond": timed / (time.perf_counter() - start), "imagesPerCpuSecond": seen / cpu, "seen": seen}))
`;

function torchAvailable() {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const probe = spawnSync(PYTHON, ['-c', 'import torch, torchvision, PIL'], { encoding: 'utf8' });
  return probe.status === 0 ? null : 'python3-torch / python3-torchvision not installed';
}

function runTorch(cores, count) {
  const dir = mkdtempSync(join(tmpdir(), 'imagenet-bench-'));
  const script = join(dir, 'bench_torchvision.py');
  writeFileSync(script, TORCH_SCRIPT);
  return pinned(cores, PYTHON, [script, JSON.stringify(photoList()), String(count), String(cores)]);
}

async function main() {
  const photos = photoList();
  const coreCounts = [1, 2].filter((c) => c <= availableParallelism());
  console.log(
    `ResNet paper train transform → [${batchSize}, 224, 224, 3] float32 batches, ${photos.length} ImageNet photos cycled, ${images} images per run` +
      (hasTaskset()
        ? ', pinned with taskset'
        : ', NOT pinned (taskset missing): core counts are nominal'),
  );
  const missingTorch = torchAvailable();
  const rows = [];
  for (const cores of coreCounts) {
    const ours = runOurs(cores, images);
    const torch = missingTorch ? null : runTorch(cores, images);
    rows.push({ cores, ours, torch });
  }
  const pad = (s, n) => String(s).padStart(n);
  const cell = (r, key) => (r ? `${r[key].toFixed(1)}` : 'skipped');
  const ratio = (row, key) => (row.torch ? `${(row.ours[key] / row.torch[key]).toFixed(2)}×` : '-');
  console.log(
    `\n${pad('cores', 5)} | ${pad('ours img/s', 10)} | ${pad('torchvision img/s', 17)} | ${pad('ratio', 6)} | ${pad('ours img/CPU-s', 14)} | ${pad('torchvision img/CPU-s', 21)} | ${pad('ratio', 6)}`,
  );
  console.log([5, 10, 17, 6, 14, 21, 6].map((n) => '-'.repeat(n)).join('-+-'));
  for (const r of rows) {
    console.log(
      `${pad(r.cores, 5)} | ${pad(cell(r.ours, 'imagesPerSecond'), 10)} | ${pad(cell(r.torch, 'imagesPerSecond'), 17)} | ${pad(ratio(r, 'imagesPerSecond'), 6)} | ${pad(cell(r.ours, 'imagesPerCpuSecond'), 14)} | ${pad(cell(r.torch, 'imagesPerCpuSecond'), 21)} | ${pad(ratio(r, 'imagesPerCpuSecond'), 6)}`,
    );
  }
  console.log(
    `\nimg/s: wall-clock throughput after the first batch. img/CPU-s: images per second of CPU time of all threads and worker processes over the whole run, which other load on the machine disturbs less. System load average at the end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(', ')}.`,
  );
  if (missingTorch) console.log(`\ntorchvision comparison skipped: ${missingTorch}.`);

  const cores = coreCounts[coreCounts.length - 1];
  const memory = runOurs(cores, memoryImages);
  const growth = memory.rssMaxMB - memory.rssStartMB;
  console.log(
    `\nMemory over ${memory.seen} decoded images on ${cores} cores: resident ${memory.rssStartMB.toFixed(0)} MB at start, ` +
      `${memory.rssMaxMB.toFixed(0)} MB at most, ${memory.rssEndMB.toFixed(0)} MB at the end ` +
      `(growth ${growth.toFixed(0)} MB, budget 200 MB: ${growth <= 200 ? 'ok' : 'EXCEEDED'}); ` +
      `${memory.leakedTensors} tensors leaked; ${memory.imagesPerSecond.toFixed(1)} img/s.`,
  );
}

if (args.includes('--worker')) {
  await worker(Number(option('in-flight', 4)), Number(option('count', images)));
} else {
  await main();
}
