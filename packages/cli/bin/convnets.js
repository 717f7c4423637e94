#!/usr/bin/env node
// The `convnets` command. npm links a package's bin only when the file exists
// at install time, so this committed file stands in for the built one
// (dist/cli.js): in a fresh clone `npx convnets` works right after `npm ci`,
// and asks for a build when there is none yet.
import { existsSync } from 'node:fs';

const built = new URL('../dist/cli.js', import.meta.url);
if (existsSync(built)) {
  await import(built.href);
} else {
  process.stderr.write(
    'convnets: the command is not built yet (dist/cli.js is missing): run `npm run build` first, in the repository root\n',
  );
  process.exitCode = 1;
}
