// The bench's measurements run as child processes of ../bench.mjs, pinned
// to their cores with taskset where it exists; each prints one JSON line.
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { photosDir } from './options.mjs';

const benchScript = fileURLToPath(new URL('../bench.mjs', import.meta.url));

export function hasTaskset() {
  return spawnSync('taskset', ['--version']).status === 0;
}

export function pinned(cores, command, commandArgs, env = {}) {
  const cpuList = Array.from({ length: cores }, (_, i) => i).join(',');
  const [file, argv] =
    cores && hasTaskset()
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

/** A throughput child (`loader` or `sharp`) on `cores` cores. */
export function runChild(cores, mode, count, inFlight = (mode === 'loader' ? 4 : 2) * cores) {
  return pinned(
    cores,
    process.execPath,
    [
      benchScript,
      '--worker',
      mode,
      '--in-flight',
      String(inFlight),
      '--count',
      String(count),
      '--photos',
      photosDir,
    ],
    { UV_THREADPOOL_SIZE: String(2 * cores) },
  );
}

/** The stage table's child, on one core, with `plans` random plans per photo. */
export function runStages(plans) {
  return pinned(1, process.execPath, [
    benchScript,
    '--worker',
    'stages',
    '--count',
    String(plans),
    '--photos',
    photosDir,
  ]);
}
