import type { Command } from '@commander-js/extra-typings';
import { existsSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { readMetrics } from '@convnets/trainer';
import { writeCurves } from '../charts';
import { fail } from '../output';

/** Registers `convnets plot`: several runs' curves on one chart. */
export function plotCommand(program: Command): void {
  program
    .command('plot')
    .description(
      "draw several runs' top-1 error curves on one chart (as the ResNet paper's Figure 4)",
    )
    .argument('<runs...>', 'run folders')
    .requiredOption('--out <file>', 'chart file (.png or .svg)')
    .action(async (runs, o) => {
      const format = extname(o.out).toLowerCase();
      if (format !== '.png' && format !== '.svg')
        fail(
          `--out ${o.out}: the extension chooses the chart's format, .png or .svg; received ${format ? `"${format}"` : 'none'}`,
        );
      const series = runs.map((r) => {
        const file = join(r, 'metrics.jsonl');
        if (!existsSync(file)) fail(`${r} is not a run folder (no metrics.jsonl)`);
        return { name: basename(resolve(r)), rows: readMetrics(file) };
      });
      await writeCurves(o.out, series);
      console.log(`wrote ${o.out}`);
    });
}
