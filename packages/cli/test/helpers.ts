import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A fresh temporary folder whose name starts with `prefix`. */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** The bin, as a user runs it: the committed shim, which runs the build (turbo builds before testing). */
export const bin = fileURLToPath(new URL('../bin/convnets.js', import.meta.url));

/** Runs `convnets` with `args` and waits: its exit code and output. */
export function convnets(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs `convnets` with `args`; its stdout, or an error naming the command and its stderr when it fails. */
export function ok(...args: string[]): string {
  const r = convnets(...args);
  if (r.code !== 0) throw new Error(`convnets ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}
