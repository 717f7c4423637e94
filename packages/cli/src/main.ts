// The `convnets` command (dist/cli.js; bin/convnets.js runs it).
import { Command } from '@commander-js/extra-typings';
import * as tf from '@tensorflow/tfjs-core';
import { availableParallelism } from 'node:os';
import { dataCommand } from './commands/data';
import { doctorCommand } from './commands/doctor';
import { evalCommand } from './commands/eval';
import { exportCommand } from './commands/export';
import { plotCommand } from './commands/plot';
import { predictCommand } from './commands/predict';
import { summaryCommand } from './commands/summary';
import { trainCommand } from './commands/train';
import { oneLine } from './output';

// libuv's thread pool runs sharp's decodes and is sized once, at its first use,
// from UV_THREADPOOL_SIZE (default 4, too few on a many-core machine). Nothing
// has used it yet while modules load, so size it to the machine here unless the
// user did.
process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, availableParallelism() + 2));
tf.env().set('PROD', true);

let verbose = false;
const program = new Command()
  .name('convnets')
  .description('Train, evaluate and inspect VGG and ResNet networks with TensorFlow.js.')
  .option('--verbose', 'print stack traces on errors')
  .hook('preAction', (cmd) => {
    verbose = Boolean(cmd.opts().verbose);
  });
for (const register of [
  trainCommand,
  evalCommand,
  predictCommand,
  exportCommand,
  summaryCommand,
  dataCommand,
  doctorCommand,
  plotCommand,
])
  register(program);
program.exitOverride();
program.configureOutput({ writeErr: (s) => process.stderr.write(s) });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  const e = error as Error & { code?: string; exitCode?: number };
  if (e.code?.startsWith('commander.')) {
    // commander already printed its one-line message (or the help).
    process.exitCode = e.exitCode ?? 1;
  } else {
    process.stderr.write(`convnets: ${oneLine(String(e?.message ?? e))}\n`);
    if (verbose || process.argv.includes('--verbose')) process.stderr.write(`${e.stack}\n`);
    process.exitCode = 1;
  }
}
