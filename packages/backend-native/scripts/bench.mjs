// `npm run bench`: one table comparing the tfjs cpu backend, this package's
// native backend and PyTorch (when /usr/bin/python3 can import torch) on the
// issue's workloads. Every measurement runs in its own child process (so peak
// RSS is per workload), and the implementations of a workload run back to
// back, alternating, so that load from other processes hits them alike.
//
//   node scripts/bench.mjs [workload ...] [--no-cpu]
//
// runs only the named workloads (all by default); --no-cpu skips the slow
// tfjs cpu estimates.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { WORKLOADS } from './workloads.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const threads = Number(process.env.CONVNETS_NATIVE_THREADS) || 2;
const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const torchProbe = spawnSync(python, ['-c', 'import torch, torchvision'], { stdio: 'ignore' });
const haveTorch = torchProbe.status === 0;

// How each implementation is run per workload: [batch, warmup steps, timed steps].
// The tfjs cpu backend needs minutes per image for training (its filter
// gradient runs at ~0.01 GFLOP/s), so it is estimated from one image and one
// step, first step included; workloads where even that takes too long are skipped.
const PLAN = {
  'resnet20-train': { native: [128, 1, 3], torch: [128, 1, 3], cpu: [1, 0, 1], rounds: 2 },
  'resnet50-train': { native: [8, 1, 2], torch: [8, 1, 2], cpu: null, rounds: 1 },
  'resnet50-forward': { native: [8, 1, 3], torch: [8, 1, 3], cpu: [1, 0, 1], rounds: 1 },
  'vgg16-train': { native: [8, 0, 1], torch: [8, 0, 1], cpu: null, rounds: 1 },
};

function run(impl, workload, [batch, warmup, steps]) {
  const [command, args] =
    impl === 'torch'
      ? [python, [`${here}bench_torch.py`, workload, batch, warmup, steps, threads]]
      : [process.execPath, [`${here}bench-child.mjs`, workload, impl, batch, warmup, steps]];
  const child = spawnSync(command, args.map(String), {
    encoding: 'utf8',
    timeout: 600_000,
    env: { ...process.env, CONVNETS_NATIVE_THREADS: String(threads) },
  });
  const line = child.stdout?.trim().split('\n').pop();
  if (child.status !== 0 || !line?.startsWith('{')) {
    const why = child.error?.code === 'ETIMEDOUT' ? 'timed out' : `failed (${child.status})`;
    process.stderr.write(`${impl} ${workload}: ${why}\n${child.stderr ?? ''}\n`);
    return undefined;
  }
  return { ...JSON.parse(line), batch };
}

const best = (a, b) => (!a ? b : !b ? a : a.imagesPerSec >= b.imagesPerSec ? a : b);
const fmt = (r, digits = 1) => (r ? r.imagesPerSec.toFixed(digits) : '—');
const ratio = (a, b) => (a && b ? `${((100 * a.imagesPerSec) / b.imagesPerSec).toFixed(0)}%` : '—');
const rss = (r) => (r ? `${(r.maxRssMB / 1024).toFixed(2)}` : '—');

const args = process.argv.slice(2);
const skipCpu = args.includes('--no-cpu');
const only = args.filter((a) => !a.startsWith('--'));
for (const name of only) {
  if (!(name in PLAN))
    throw new Error(`Unknown workload "${name}"; expected one of ${Object.keys(PLAN).join(', ')}.`);
}

if (!haveTorch) console.log(`PyTorch: skipped (${python} cannot import torch and torchvision).`);
const rows = [];
for (const [workload, plan] of Object.entries(PLAN)) {
  if (only.length > 0 && !only.includes(workload)) continue;
  let native, torch, cpu;
  for (let round = 0; round < plan.rounds; round++) {
    if (haveTorch) torch = best(torch, run('torch', workload, plan.torch));
    native = best(native, run('native', workload, plan.native));
  }
  if (plan.cpu && !skipCpu) cpu = run('cpu', workload, plan.cpu);
  const w = WORKLOADS[workload];
  rows.push([
    `${w.label} (batch ${w.batch}, ${w.size}²)`,
    plan.cpu && !skipCpu ? `${fmt(cpu, 2)}${cpu ? ` (b${cpu.batch})` : ''}` : 'skipped',
    fmt(native),
    haveTorch ? fmt(torch) : 'skipped',
    ratio(native, cpu),
    ratio(native, torch),
    `${rss(native)} / ${rss(torch)}`,
  ]);
  console.error(`done: ${workload}`);
}

const header = [
  'workload',
  'cpu img/s',
  'native img/s',
  'PyTorch img/s',
  'native/cpu',
  'native/PyTorch',
  'peak RSS GiB native / PyTorch',
];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
console.log(
  `\n${threads} threads (CONVNETS_NATIVE_THREADS; torch.set_num_threads). Best of the rounds shown; other processes on the machine add noise.`,
);
console.log(
  'cpu: estimated from batch 1 and one step (first step included); skipped where that alone takes many minutes.',
);
console.log(line(header));
console.log(line(widths.map((w) => '-'.repeat(w))));
for (const r of rows) console.log(line(r));
