// Runs code in a child Node process against this package's build (dist/,
// which turbo builds from the current source before the tests), so that a
// kernel that crashes the process (SIGFPE, SIGSEGV) fails a test instead of
// killing the test runner.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = `${root}dist/index.cjs`;

function build(): string {
  if (!existsSync(built))
    throw new Error(`${built} is missing: build the package first (npx turbo run build).`);
  return built;
}

export interface ChildResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** One line for a failed assertion: how the process ended and what it printed last. */
  summary: string;
}

/**
 * Runs `body` (the statements of an async function) in a fresh Node with
 * `tf` (tfjs-core with the cpu backend), `native` (this package: register,
 * backendName, loadError, nativeInfo) and `out` (prints a value as JSON on
 * stdout) in scope.
 */
export function runChild(body: string, env: Record<string, string | undefined> = {}): ChildResult {
  const script = `
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
tf.env().set('PROD', true);
const native = require(${JSON.stringify(build())});
const out = (v) => process.stdout.write(JSON.stringify(v) + '\\n');
(async () => {
${body}
})().catch((e) => { console.error(e && e.stack ? e.stack : e); process.exit(1); });
`;
  const r: SpawnSyncReturns<string> = spawnSync(process.execPath, ['-e', script], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
  const tail = (s: string) => s.trim().split('\n').slice(-6).join(' | ');
  return {
    status: r.status,
    signal: r.signal,
    stdout: r.stdout,
    stderr: r.stderr,
    summary: `exit ${r.status}, signal ${r.signal}; stderr: ${tail(r.stderr ?? '')}`,
  };
}

/** The JSON values a child printed with `out`, in order. */
export function outputs(r: ChildResult): unknown[] {
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{') || l.startsWith('[') || l.startsWith('"'))
    .map((l) => JSON.parse(l) as unknown);
}
