import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));

/**
 * The `npm install @convnets/...` experience, for real: packs the given
 * workspace packages (which must be built) into tarballs, installs them with
 * the extra dependencies into a fresh project outside the workspace, and
 * returns that project's folder. Call `dispose()` when done.
 */
export function consumerProject(packageDirs: string[], extraDependencies: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'convnets-consumer-'));
  const tarballs = join(dir, 'tarballs');
  mkdirSync(tarballs);
  for (const pkg of packageDirs) {
    execFileSync('npm', ['pack', '--silent', '--pack-destination', tarballs], {
      cwd: join(repoRoot, pkg),
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  const files = readdirSync(tarballs).map((f) => join(tarballs, f));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  execFileSync(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      ...files,
      ...extraDependencies,
    ],
    { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  return {
    dir,
    /** Writes `source` to `file` in the project and runs it with Node; returns its stdout. */
    run(file: string, source: string): string {
      writeFileSync(join(dir, file), source);
      return execFileSync(process.execPath, [file], { cwd: dir, encoding: 'utf8' });
    },
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}
