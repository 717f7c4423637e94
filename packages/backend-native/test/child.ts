// Runs code in a child Node process against this package's current source,
// so that a kernel that crashes the process (SIGFPE, SIGSEGV) fails a test
// instead of killing the test runner. The source is bundled once per test
// process with esbuild into build/ (one level below the package root, as
// src/ and dist/ are, so the addon is found the same way).
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const bundlePath = `${root}build/test-child-${process.pid}.cjs`;
let built = false;

/** The package's src/index.ts as one CommonJS file (tfjs left external). */
function bundle(): string {
  if (built) return bundlePath;
  mkdirSync(`${root}build`, { recursive: true });
  buildSync({
    entryPoints: [`${root}src/index.ts`],
    outfile: bundlePath,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    external: ['@tensorflow/*'],
    banner: { js: "const __importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
    define: { 'import.meta.url': '__importMetaUrl' },
    logLevel: 'error',
  });
  built = true;
  process.once('exit', () => rmSync(bundlePath, { force: true }));
  return bundlePath;
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
const native = require(${JSON.stringify(bundle())});
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
