import type { Command } from '@commander-js/extra-typings';
import { existsSync, statSync } from 'node:fs';
import { checkImageFolder, synthesizeImageFolder } from '@convnets/imagenet-data';
import { int } from '../options';
import { fail } from '../output';
import { cifarCommands } from './data-cifar';

/** Registers `convnets data synth`, `convnets data check`, `convnets data cifar10` and `convnets data cifar100`. */
export function dataCommand(program: Command): void {
  const data = program
    .command('data')
    .description('synthesise or check image folders; get CIFAR-10 and CIFAR-100');
  data
    .command('synth')
    .description('write a small learnable image folder (dir/train, dir/val)')
    .argument('<dir>', 'output folder')
    .option('--classes <n>', 'classes (default 10)', int('classes'))
    .option('--per-class <n>', 'training images per class (default 20)', int('per-class'))
    .option('--val-per-class <n>', 'validation images per class', int('val-per-class'))
    .option('--size <px>', 'image side (default 64)', int('size'))
    .option('--seed <n>', 'seed (default 0)', int('seed'))
    .action(async (dir, o) => {
      const options = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
      const r = await synthesizeImageFolder(dir, options);
      console.log(`wrote ${r.classes.length} classes to ${r.train} and ${r.val}`);
    });
  data
    .command('check')
    .description('count images per class and find unreadable or mislabelled files')
    .argument(
      '<dir>',
      'image folder (root/<class>/…), or a folder holding train/ and val/ (each is checked)',
    )
    .option('--headers-only', 'read headers only (fast; misses truncated files)')
    .option(
      '--json',
      'print one JSON document (for train/ and val/, each split\'s report is in "splits")',
    )
    .action(async (dir, o) => {
      if (!existsSync(dir)) fail(`image folder ${dir} does not exist`);
      if (!statSync(dir).isDirectory()) fail(`image folder ${dir} is not a folder`);
      // A root holding train/ (and val/), the layout `train --data` takes, is checked split by split.
      const r = await checkImageFolder(dir, { fullDecode: !o.headersOnly });
      if (o.json) console.log(JSON.stringify(r));
      else printCheck(r);
      if (r.unreadable.length > 0) process.exitCode = 2;
    });
  cifarCommands(data);
}

/** `data check`'s report as text: a line per split, then each problem. */
function printCheck(r: Awaited<ReturnType<typeof checkImageFolder>>): void {
  for (const report of r.splits ? [r.splits.train, r.splits.val] : [r]) {
    if (!report) continue;
    console.log(
      `${report.root}: ${report.images} images in ${report.classes.length} classes; formats ${JSON.stringify(report.formats)}`,
    );
    for (const c of report.emptyClasses) console.log(`  empty class: ${c}`);
    for (const m of report.mislabelledFormats)
      console.log(`  mislabelled: ${m.path} is ${m.format}`);
    for (const u of report.unreadable) console.log(`  unreadable: ${u.path}: ${u.reason}`);
  }
}
