// Writes guides/08-cifar10-results.md from the committed results under
// docs/results/cifar10/ (each run's summary.json and curves.png, written by
// scripts/results/publish-run.mjs): every figure on the page is read from
// those files, none is typed here except the paper's.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
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
const count = (n) => n.toLocaleString('en-US');
// Figure 6's runs are the folders <schedule>-<net> whose schedule starts with
// "degradation" (degradation-plain20, degradation-12k-resnet56, …): one group
// per schedule, its nets in the paper's order (plain before residual, shallow
// before deep), which is their names' order.
const FIG6_FOLDER = /^(degradation.*)-([a-z]+\d+)$/;
const fig6Groups = [];
for (const r of runs) {
  const m = FIG6_FOLDER.exec(r.folder);
  if (!m) continue;
  const [, prefix, net] = m;
  let group = fig6Groups.find((g) => g.prefix === prefix);
  if (!group) fig6Groups.push((group = { prefix, runs: [] }));
  group.runs.push({ ...r, net });
}
for (const g of fig6Groups)
  g.runs.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
fig6Groups.sort((a, b) => a.runs[0].totalSteps - b.runs[0].totalSteps); // shortest schedule first
const main = runs.filter((r) => !FIG6_FOLDER.test(r.folder));

// `--figures`: for scripts/results/cifar10.sh publish, one line per schedule
// with two nets or more: the figure's file, then its run folders (paths
// relative to the working directory).
if (process.argv.includes('--figures')) {
  for (const g of fig6Groups.filter((g) => g.runs.length >= 2))
    console.log(
      [`${g.prefix}.png`, ...g.runs.map((r) => r.folder)]
        .map((f) => relative(process.cwd(), join(root, f)))
        .join(' '),
    );
  process.exit(0);
}

// The tables' columns: a title, what a run shows there and, for Table 6's
// column, `paper` (shown in the main table only).
const COLUMNS = [
  ['run', (r) => r.folder],
  ['net', (r) => r.name],
  ['status', (r) => r.status],
  ['iterations', (r) => `${count(r.steps)} / ${count(r.totalSteps)}`],
  ['validation error (last)', (r) => pct(r.final?.valTop1Error)],
  ['validation error (best)', (r) => pct(r.best?.valTop1Error)],
  ['training error (last epoch)', (r) => pct(r.final?.trainTop1Error)],
  [
    'paper, Table 6 (test)',
    (r) => (PAPER[r.name] === undefined ? '' : `${PAPER[r.name]}%`),
    'paper',
  ],
  ['training time', (r) => hours(r.wallSeconds)],
];
/** A markdown table of `rows`; without `paper`, Table 6's column is left out. */
function table(rows, { paper }) {
  const columns = COLUMNS.filter(([, , only]) => paper || only !== 'paper');
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [
    line(columns.map(([title]) => title)),
    line(columns.map((_, i) => (i < 3 ? '---' : '---:'))),
    ...rows.map((r) => line(columns.map(([, cell]) => cell(r)))),
  ];
}

const sections = main.map((r) => [
  `## ${r.folder}`,
  '',
  `${r.status === 'completed' ? 'Completed' : 'In progress'}: ${count(r.steps)} of ${count(r.totalSteps)} iterations (${r.epochs} epochs), seed ${r.seed}, ${hours(r.wallSeconds)} of training on ${r.machine}; published ${r.published}.${r.note ? ` ${r.note}` : ''}`,
  '',
  '```sh',
  r.command,
  '```',
  '',
  ...(r.checkpoint
    ? [
        `The final checkpoint (step ${r.checkpoint.step}; not the one with the best validation error, so the held-out images did not choose it) is committed in \`docs/results/cifar10/${r.folder}\`; its preprocessing (the per-pixel mean) travels with it:`,
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

// What Figure 6 shows, checked on the committed numbers: the deeper plain net
// trains worse, the deeper residual net does not.
function degradationSection({ prefix, runs: fig6 }) {
  const byNet = Object.fromEntries(fig6.map((r) => [r.net, r]));
  const verdict = (deep, shallow, expectWorse) => {
    const [d, s] = [byNet[deep], byNet[shallow]];
    if (d?.status !== 'completed' || s?.status !== 'completed') return undefined;
    const [a, b] = [d.final.trainTop1Error, s.final.trainTop1Error];
    const worse = a > b;
    return `${deep} ends at ${pct(a)} training error against ${pct(b)} for ${shallow}: ${worse ? 'higher' : 'not higher'}${worse === expectWorse ? ', as in the paper' : ', unlike the paper'}.`;
  };
  const verdicts = [
    verdict('plain56', 'plain20', true),
    verdict('resnet56', 'resnet20', false),
  ].filter(Boolean);
  const figure = `${prefix}.png`;
  return [
    `### ${count(fig6[0].totalSteps)} iterations`,
    '',
    ...table(fig6, { paper: false }),
    '',
    ...verdicts.map((v) => `- ${v}`),
    ...(verdicts.length ? [''] : []),
    ...(existsSync(join(root, figure))
      ? [`![${fig6.map((r) => r.name).join(', ')}](../results/cifar10/${figure})`, '']
      : []),
    '```sh',
    ...fig6.map((r) => r.command),
    '```',
    '',
  ];
}

// The paper's schedule (§4.2): 64k iterations, the rate divided at 32k and 48k.
const PAPER_STEPS = 64000;
/** The page's account of the schedules, from the runs' own iteration counts. */
function schedule() {
  const code = (r) => `\`${r.folder}\``;
  const full = main.filter((r) => r.totalSteps >= PAPER_STEPS).map(code);
  const short = [
    ...main.filter((r) => r.totalSteps < PAPER_STEPS).map(code),
    ...(fig6Groups.length ? ['the Figure 6 runs'] : []),
  ];
  return [
    `- **Schedule**: the paper trains ${count(PAPER_STEPS)} iterations with the rate divided at`,
    `  ${count(PAPER_STEPS / 2)} and ${count((PAPER_STEPS * 3) / 4)}.${full.length ? ` ${full.join(', ')} ${full.length > 1 ? 'use' : 'uses'} that schedule.` : ''}`,
    ...(short.length
      ? [
          `  ${short.join(' and ')} ${short.length > 1 ? 'are' : 'is'} shortened to fit a 2-core CPU: the`,
          '  iterations in their command, with the milestones in the same proportion.',
        ]
      : []),
  ];
}

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
  ...(main.length === 0
    ? ['No run has been published yet.', '']
    : [...table(main, { paper: true }), '']),
  ...sections.flat(),
  ...(fig6Groups.length === 0
    ? []
    : [
        '## The degradation experiment (Figure 6)',
        '',
        'Plain and residual nets of 20 and 56 layers, the same recipe and seed, at',
        "schedules shorter than the paper's (the iterations in each heading, the",
        'milestones in the same proportion). In the figures, thin lines are training',
        'error and bold lines validation error, one colour per net.',
        '',
        ...fig6Groups.flatMap(degradationSection),
      ]),
  '## What differs from the paper',
  '',
  '- **Data**: the images are a JPEG export of CIFAR-10 (quality 75), not the',
  '  original PNG-exact pixels, and the errors are on the held-out 5k of the',
  "  training set, not the official 10k test set: the paper's Table 6 column is",
  '  a reference point, not the same measurement.',
  ...schedule(),
  '- **Hardware**: two CPU cores and `@convnets/backend-native`, in sessions',
  '  shared with other work and at times with a second run (the training times',
  '  above are wall time, slowed when the cores were busy); runs resume exactly',
  '  from checkpoints across sessions (`convnets train --resume`).',
  '',
];
writeOrCheck(join(docs, 'guides', '08-cifar10-results.md'), lines.join('\n'));
