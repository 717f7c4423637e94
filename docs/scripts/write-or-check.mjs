// The generated guides are committed, so that they read on GitHub too; the
// docs build (`--check`) fails when one is not what its generator writes now,
// and `npm run generate -w @convnets/docs` rewrites them.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const checking = process.argv.includes('--check');
const root = fileURLToPath(new URL('../..', import.meta.url));

/** Writes `text` to `path`, or with `--check` fails the process if the file differs. */
export function writeOrCheck(path, text) {
  const name = relative(root, path);
  if (!checking) {
    writeFileSync(path, text);
    console.log(`wrote ${name}`);
  } else if (!existsSync(path) || readFileSync(path, 'utf8') !== text) {
    console.error(
      `${name} is out of date: run \`npm run generate -w @convnets/docs\` and commit it`,
    );
    process.exitCode = 1;
  }
}
