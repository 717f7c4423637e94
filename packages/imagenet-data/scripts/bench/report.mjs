// The bench's parent: runs the children and prints the tables (see
// ../bench.mjs).
import { availableParallelism, loadavg } from 'node:os';
import { hasTaskset, runChild, runStages } from './children.mjs';
import { batchSize, images, memoryImages, photoList, rounds, stagePlans } from './options.mjs';
import { resnet50Rate } from './resnet50.mjs';
import { runTorch, torchAvailable } from './torch.mjs';

const pad = (s, n) => String(s).padStart(n);
const fixed = (x, digits = 1) => (x === undefined || x === null ? 'skipped' : x.toFixed(digits));

/** Prints a table: the first column left-aligned, the others right-aligned. */
function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) =>
    cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : pad(c, widths[i]))).join(' | ');
  console.log(line(headers));
  console.log(widths.map((w) => '-'.repeat(w)).join('-+-'));
  for (const r of rows) console.log(line(r));
}

/** Each side's best run on each core count. */
function throughput(coreCounts, missingTorch) {
  // This kind of VM drifts by ±30% over minutes: each side runs `rounds` times,
  // alternating, and keeps its best run (as the backend bench does).
  const better = (a, b) => (!a || (b && b.imagesPerSecond > a.imagesPerSecond) ? b : a);
  const rows = [];
  for (const cores of coreCounts) {
    let ours, plain, torch;
    for (let round = 0; round < rounds; round++) {
      ours = better(ours, runChild(cores, 'loader', images));
      plain = better(plain, runChild(cores, 'sharp', images));
      if (!missingTorch) torch = better(torch, runTorch(cores, images));
    }
    rows.push({ cores, ours, plain, torch: torch ?? null });
  }
  return rows;
}

function printThroughput(rows, coreCounts, missingTorch) {
  const ratio = (a, b) => (a && b ? `${(a / b).toFixed(2)}×` : '-');
  console.log(
    `\nThroughput (images/s of wall time after the first batch; images per CPU-second; best of ${rounds} alternating runs):`,
  );
  table(
    [
      'cores',
      'ours img/s',
      'plain sharp img/s',
      'torchvision img/s',
      'ours/torchvision',
      'ours img/CPU-s',
      'plain sharp img/CPU-s',
      'torchvision img/CPU-s',
      'ours/torchvision',
    ],
    rows.map((r) => [
      r.cores,
      fixed(r.ours.imagesPerSecond),
      fixed(r.plain.imagesPerSecond),
      fixed(r.torch?.imagesPerSecond),
      ratio(r.ours.imagesPerSecond, r.torch?.imagesPerSecond),
      fixed(r.ours.imagesPerCpuSecond),
      fixed(r.plain.imagesPerCpuSecond),
      fixed(r.torch?.imagesPerCpuSecond),
      ratio(r.ours.imagesPerCpuSecond, r.torch?.imagesPerCpuSecond),
    ]),
  );
  console.log(
    `\nplain sharp: read + metadata() + one sharp pipeline (bilinear resize, flop, extract) → raw bytes with sharp's defaults, the same geometry, ${2 * coreCounts.at(-1)} in flight on ${coreCounts.at(-1)} cores; no floats, no batches. ` +
      `img/CPU-s counts all threads and worker processes over the whole run. System load average at the end: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(', ')}.`,
  );
  if (missingTorch) console.log(`torchvision comparison skipped: ${missingTorch}.`);
}

/** The stage table, and the 1-core throughput run's CPU time for comparison. */
function printStages(loaderRow) {
  const stages = runStages(stagePlans);
  console.log(
    `\nCPU ms per image by stage (one core, one image at a time, least of 3 calls, mean over ${stages.photos} photos × ${stages.plans} random plans):`,
  );
  table(
    ['stage', 'CPU ms'],
    stages.rows.map(([name, ms]) => [name, ms.toFixed(2)]),
  );
  console.log(
    `loader on 1 core, everything included: ${loaderRow.ours.cpuMsPerImage.toFixed(2)} CPU ms/image; plain sharp loop: ${loaderRow.plain.cpuMsPerImage.toFixed(2)}` +
      (loaderRow.torch ? `; torchvision: ${loaderRow.torch.cpuMsPerImage.toFixed(2)}` : '') +
      '.',
  );
}

function printResnet50(rows) {
  const resnet = resnet50Rate();
  const best = rows.at(-1);
  if (resnet.rate) {
    console.log(
      `\nResNet-50 training step on the fastest backend we have: ${resnet.rate.toFixed(2)} img/s (${resnet.how}).` +
        `\nThe loader on ${best.cores} core${best.cores > 1 ? 's' : ''} delivers ${best.ours.imagesPerSecond.toFixed(1)} img/s = ${(best.ours.imagesPerSecond / resnet.rate).toFixed(0)}× that; ` +
        `feeding such a step costs ${((100 * resnet.rate * rows[0].ours.cpuMsPerImage) / 1000).toFixed(1)}% of one core.`,
    );
  } else {
    console.log(`\nResNet-50 training step comparison skipped: ${resnet.skipped}.`);
  }
}

function printMemory(cores) {
  const memory = runChild(cores, 'loader', memoryImages);
  const growth = memory.rssMaxMB - memory.rssStartMB;
  console.log(
    `\nMemory over ${memory.seen} decoded images on ${cores} cores: resident ${memory.rssStartMB.toFixed(0)} MB at start, ` +
      `${memory.rssMaxMB.toFixed(0)} MB at most, ${memory.rssEndMB.toFixed(0)} MB at the end ` +
      `(growth ${growth.toFixed(0)} MB, budget 200 MB: ${growth <= 200 ? 'ok' : 'EXCEEDED'}); ` +
      `${memory.leakedTensors} tensors leaked; ${memory.imagesPerSecond.toFixed(1)} img/s.`,
  );
}

export async function main() {
  const photos = photoList();
  const coreCounts = [1, 2].filter((c) => c <= availableParallelism());
  console.log(
    `ResNet paper train transform → [${batchSize}, 224, 224, 3] float32 batches, ${photos.length} ImageNet photos cycled, ${images} images per run` +
      (hasTaskset()
        ? ', pinned with taskset'
        : ', NOT pinned (taskset missing): core counts are nominal'),
  );
  const missingTorch = torchAvailable();
  const rows = throughput(coreCounts, missingTorch);
  printThroughput(rows, coreCounts, missingTorch);
  if (stagePlans > 0) printStages(rows[0]);
  printResnet50(rows);
  if (memoryImages > 0) printMemory(coreCounts.at(-1));
}
