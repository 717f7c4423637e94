// Writes guides/08-cifar10-results.md from the committed results under
// docs/results/cifar10/ (each run's summary.json and curves.png, written by
// scripts/results/publish-run.mjs): every figure on the page is read from
// those files, none is typed here except the paper's.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeOrCheck } from './write-or-check.mjs';

const docs = fileURLToPath(new URL('..', import.meta.url));
const root = join(docs, 'results', 'cifar10');

// He et al. 2015, Table 6: CIFAR-10 test error (%), the 10k official test images.
const PAPER = {
  cifar_resnet20: 8.75,
  cifar_resnet32: 7.51,
  cifar_resnet44: 7.17,
  cifar_resnet56: 6.97,
  cifar_resnet110: 6.43,
};

const runs = existsSync(root)
  ? readdirSync(root)
      .filter((name) => existsSync(join(root, name, 'summary.json')))
      .sort()
      .map((name) => ({
        folder: name,
        ...JSON.parse(readFileSync(join(root, name, 'summary.json'), 'utf8')),
      }))
  : [];

const pct = (x) => (x === undefined ? '' : `${x.toFixed(2)}%`);
const hours = (s) => `${(s / 3600).toFixed(1)} h`;
const row = (r) =>
  `| ${r.name} | ${r.status} | ${r.steps.toLocaleString('en-US')} / ${r.totalSteps.toLocaleString('en-US')} | ${pct(r.final?.valTop1Error)} | ${pct(r.best?.valTop1Error)} | ${pct(r.final?.trainTop1Error)} | ${PAPER[r.name] === undefined ? '' : `${PAPER[r.name]}%`} | ${hours(r.wallSeconds)} |`;

const sections = runs.map((r) => [
  `## ${r.name}`,
  '',
  `${r.status === 'completed' ? 'Completed' : 'In progress'}: ${r.steps.toLocaleString('en-US')} of ${r.totalSteps.toLocaleString('en-US')} iterations (${r.epochs} epochs), seed ${r.seed}, ${hours(r.wallSeconds)} of training on ${r.machine}; published ${r.published}.${r.note ? ` ${r.note}` : ''}`,
  '',
  '```sh',
  r.command,
  '```',
  '',
  ...(r.checkpoint
    ? [
        `The checkpoint of step ${r.checkpoint.step} is committed in \`docs/results/cifar10/${r.folder}\`; its preprocessing (the per-pixel mean) travels with it:`,
        '',
        '```sh',
        `convnets eval --arch ${r.name} --weights docs/results/cifar10/${r.folder} --data <folder of test images>`,
        '```',
        '',
      ]
    : []),
  `![${r.name}: top-1 error against iterations](../results/cifar10/${r.folder}/curves.png)`,
  '',
]);

const degradation = existsSync(join(root, 'degradation.png'))
  ? [
      '## The degradation experiment (Figure 6)',
      '',
      'Plain and residual nets of 20 and 56 layers, same recipe and seed: thin lines',
      'training error, bold lines validation error.',
      '',
      '![plain-20, plain-56, ResNet-20 and ResNet-56](../results/cifar10/degradation.png)',
      '',
    ]
  : [];

const lines = [
  '---',
  'title: 8. CIFAR-10 results',
  '---',
  '',
  '# CIFAR-10 results',
  '',
  "The ResNet paper's §4.2 experiments, run with `convnets train` on the",
  '50,000 CIFAR-10 training images as JPEGs (quality 75): the last 500 images of',
  "each class are held out for validation (`--holdout 500`, the paper's 45k/5k",
  "split) and nothing was tuned on anything else. The recipe is the paper's: SGD",
  'with momentum 0.9, weight decay 1e-4, batch 128, learning rate 0.1 divided',
  'by 10 twice, 4-pixel padding + 32×32 crop + flip, the per-pixel mean',
  'subtracted (`--pixel-mean`). Every number below is read from the committed',
  'run files (`docs/results/cifar10/*/summary.json`, `metrics.jsonl`) when the',
  'docs are built.',
  '',
  ...(runs.length === 0
    ? ['No run has been published yet.', '']
    : [
        '| net | status | iterations | validation error (last) | validation error (best) | training error (last epoch) | paper, Table 6 (test) | training time |',
        '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
        ...runs.map(row),
        '',
      ]),
  ...sections.flat(),
  ...degradation,
  '## What differs from the paper',
  '',
  '- **Data**: the images are a JPEG export of CIFAR-10 (quality 75), not the',
  '  original PNG-exact pixels, and the errors are on the held-out 5k of the',
  "  training set, not the official 10k test set: the paper's Table 6 column is",
  '  a reference point, not the same measurement.',
  '- **Schedule**: shortened to fit a 2-core CPU. The paper trains 64k',
  '  iterations with the rate divided at 32k and 48k; the runs here use the',
  '  iterations in their command, with the milestones in the same proportion.',
  '- **Hardware**: two CPU cores and `@convnets/backend-native`, in sessions',
  '  shared with other work (the training time above is wall time, slowed when',
  '  the cores were busy); runs resume exactly from checkpoints across sessions',
  '  (`convnets train --resume`).',
  '',
];
writeOrCheck(join(docs, 'guides', '08-cifar10-results.md'), lines.join('\n'));
