import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** What the trainer (and the CLI's `curves.png`) write into a run folder; `overwrite` deletes exactly these. */
export const RUN_FILES: readonly string[] = [
  'run.json',
  'metrics.jsonl',
  'metrics.csv',
  'checkpoints',
  'curves.png',
];

/**
 * What of a run a folder already holds.
 *
 * @param dir - A run folder (it need not exist).
 * @returns The entries of {@link RUN_FILES} present in it (an empty `checkpoints/` does not count); empty for a new or empty folder.
 * @example
 * ```ts
 * if (existingRun('runs/r20').length > 0) console.log('resume it: convnets train --resume runs/r20');
 * ```
 */
export function existingRun(dir: string): string[] {
  return RUN_FILES.filter((name) => {
    const path = join(dir, name);
    if (!existsSync(path)) return false;
    if (name !== 'checkpoints') return true;
    try {
      return readdirSync(path).length > 0;
    } catch {
      return true;
    }
  });
}

/**
 * Refusal to start a new run in a folder that holds one (its metrics,
 * checkpoints and `run.json` would be mixed with or replaced by the new
 * run's). Nothing in the folder has been changed when it is thrown.
 *
 * @example
 * ```ts
 * try {
 *   await train({ model, data, outDir: 'runs/r20' });
 * } catch (error) {
 *   if (error instanceof RunExistsError) await train({ model, data, outDir: 'runs/r20', resume: true });
 *   else throw error;
 * }
 * ```
 */
export class RunExistsError extends Error {
  /** The run folder. */
  readonly dir: string;
  /** What of a run it holds (entries of {@link RUN_FILES}). */
  readonly found: readonly string[];
  /**
   * Creates the error; its message names the folder, what it holds and the three ways on.
   *
   * @param dir - The run folder.
   * @param found - What of a run it holds.
   */
  constructor(dir: string, found: readonly string[]) {
    super(
      `${dir} already holds a run (${found.join(', ')}); nothing was changed. Resume it (resume: true), choose another outDir, or pass overwrite: true to replace it.`,
    );
    this.name = 'RunExistsError';
    this.dir = dir;
    this.found = [...found];
  }
}

/** Deletes a run folder's {@link RUN_FILES} (nothing else in it). */
export function clearRun(dir: string): void {
  for (const name of RUN_FILES) rmSync(join(dir, name), { recursive: true, force: true });
}
