// Publishes a training run's small files into the docs (issue #16):
//   node scripts/results/publish-run.mjs RUN DEST [--checkpoint] [--note TEXT]
// writes DEST/run.json (the run's flags), DEST/metrics.jsonl (every epoch row
// and every 10th step row), DEST/summary.json (status, command, machine, wall
// time, validation errors: what docs/scripts/cifar10-results.mjs renders) and
// DEST/curves.png; with --checkpoint, once the run completed, its final checkpoint's files
// (state.json, model.safetensors, optimizer.safetensors) into DEST itself, so
// that `convnets eval --weights DEST` evaluates it. The results page is
// rewritten from them afterwards (scripts/results/cifar10.sh publish does).
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, platform, release } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { latestCheckpoint, readCheckpointState, readMetrics } from '@convnets/trainer';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { checkpoint: { type: 'boolean' }, note: { type: 'string' } },
});
if (positionals.length !== 2) {
  console.error('usage: publish-run.mjs RUN DEST [--checkpoint] [--note TEXT]');
  process.exit(2);
}
const [run, dest] = positionals;
const bin = fileURLToPath(new URL('../../packages/cli/bin/convnets.js', import.meta.url));
const runJson = JSON.parse(readFileSync(join(run, 'run.json'), 'utf8'));
const rows = readMetrics(join(run, 'metrics.jsonl'));
const epochs = rows.filter((r) => r.kind === 'epoch');
if (epochs.length === 0) {
  // Nothing to tabulate yet: a run is published from its first epoch on.
  console.log(`${run} has no epoch yet: not published`);
  process.exit(0);
}
/** The flags as a command line (the run's config, as `convnets train` recorded it). */
function command(config) {
  const skip = new Set(['plot', 'out']);
  const flags = Object.entries(config)
    .filter(([k, v]) => !skip.has(k) && v !== undefined && v !== false)
    .map(([k, v]) => {
      const flag = `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      return v === true ? flag : `${flag} ${Array.isArray(v) ? v.join(',') : v}`;
    });
  return `convnets train ${flags.join(' ')} --out runs/cifar10/${basename(resolve(run))}`;
}

// Wall time: the epochs' durations (each run segment's clock restarts on --resume).
let wallSeconds = 0;
let last = 0;
for (const e of epochs) {
  wallSeconds += e.time >= last ? e.time - last : e.time;
  last = e.time;
}
const validated = epochs.filter((e) => e.top1Error !== undefined);
const best = validated.reduce((b, e) => (b && b.top1Error <= e.top1Error ? b : e), undefined);
const final = epochs.at(-1);
const summary = {
  name: runJson.model,
  status: final.step >= runJson.totalSteps ? 'completed' : 'in progress',
  command: command(runJson.config),
  seed: runJson.config.seed ?? 0,
  steps: final.step,
  totalSteps: runJson.totalSteps,
  epochs: epochs.length,
  wallSeconds: Math.round(wallSeconds),
  machine: `${cpus().length} × ${cpus()[0].model.trim()}, ${platform()} ${release()}, backend ${runJson.backend}`,
  final: {
    step: final.step,
    trainTop1Error: final.trainTop1Error,
    valTop1Error: final.top1Error,
  },
  best: best && { step: best.step, valTop1Error: best.top1Error },
  note: values.note,
  published: new Date().toISOString().slice(0, 10),
};

let chosen; // the checkpoint to publish
if (values.checkpoint && summary.status !== 'completed') {
  console.log(`${run} is still in progress: its checkpoint is published when it completes`);
} else if (values.checkpoint) {
  // The last one, not the one with the best validation error: the held-out
  // images it is evaluated on must not have chosen it.
  chosen = await latestCheckpoint(run);
  summary.checkpoint = { step: (await readCheckpointState(chosen)).step };
}
const checkpointFiles = ['state.json', 'model.safetensors', 'optimizer.safetensors'];
// A run published before and unchanged since, with all its files still there,
// is left as it was, its date included: republishing every run rewrites only
// the ones that moved on (or lost a file).
const summaryFile = join(dest, 'summary.json');
const previous = existsSync(summaryFile)
  ? JSON.parse(readFileSync(summaryFile, 'utf8'))
  : undefined;
const undated = (s) => JSON.stringify({ ...s, published: undefined });
const files = ['run.json', 'metrics.jsonl', 'curves.png', ...(chosen ? checkpointFiles : [])];
const unchanged =
  previous !== undefined &&
  undated(previous) === undated(summary) &&
  files.every((f) => existsSync(join(dest, f)));
if (!unchanged) {
  mkdirSync(dest, { recursive: true });
  writeFileSync(join(dest, 'run.json'), `${JSON.stringify(runJson, null, 2)}\n`);
  const kept = rows.filter((r) => r.kind === 'epoch' || r.step % 10 === 0);
  writeFileSync(join(dest, 'metrics.jsonl'), kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
  if (chosen) for (const f of checkpointFiles) copyFileSync(join(chosen, f), join(dest, f));
  execFileSync(
    process.execPath,
    [bin, 'plot', resolve(dest), '--out', resolve(dest, 'curves.png')],
    {
      stdio: 'inherit',
      cwd: dirname(bin),
    },
  );
  // Last: a summary on disk says the rest was published with it.
  writeFileSync(summaryFile, `${JSON.stringify(summary, null, 2)}\n`);
}
console.log(
  `published ${run} → ${dest} (${summary.status}, step ${summary.steps}${unchanged ? ', unchanged' : ''})`,
);
