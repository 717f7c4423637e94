import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from './files';

/**
 * One row of `metrics.jsonl` / `metrics.csv`. Step rows (`kind: 'step'`)
 * carry the running training figures; epoch rows (`kind: 'epoch'`) add the
 * validation `top1Error`/`top5Error`. Errors are percentages.
 */
export interface MetricsRow {
  /** `'step'` or `'epoch'`. */
  kind: 'step' | 'epoch';
  /** Optimizer updates done. */
  step: number;
  /** Epoch (0-based) the step belongs to; for epoch rows, the epoch that ended. */
  epoch: number;
  /** Training loss: of this step (step rows) or the epoch's mean (epoch rows). */
  loss: number;
  /** Learning rate of the last update. */
  lr: number;
  /** Training top-1 error (%), running over the epoch. */
  trainTop1Error: number;
  /** Training top-5 error (%), running over the epoch. */
  trainTop5Error: number;
  /**
   * Validation top-1 error (%) (epoch rows with validation data).
   * @defaultValue absent on step rows and without validation data
   */
  top1Error?: number;
  /**
   * Validation top-5 error (%).
   * @defaultValue absent on step rows and without validation data
   */
  top5Error?: number;
  /**
   * Validation loss.
   * @defaultValue absent on step rows and without validation data
   */
  valLoss?: number;
  /** Training images per second. */
  imagesPerSec: number;
  /** Seconds since the run (or its resumption) started. */
  time: number;
}

/** The names of the error fields in files written before they ended in `Error`. */
interface LegacyErrors {
  trainTop1?: number;
  trainTop5?: number;
  top1?: number;
  top5?: number;
}

/** A row of an older file with today's field names. */
function renameLegacyErrors(row: MetricsRow & LegacyErrors): MetricsRow {
  const { trainTop1, trainTop5, top1, top5, ...rest } = row;
  const renamed: Partial<MetricsRow> = {
    trainTop1Error: rest.trainTop1Error ?? trainTop1,
    trainTop5Error: rest.trainTop5Error ?? trainTop5,
    top1Error: rest.top1Error ?? top1,
    top5Error: rest.top5Error ?? top5,
  };
  for (const [k, v] of Object.entries(renamed))
    if (v === undefined) delete renamed[k as keyof MetricsRow];
  return { ...rest, ...renamed } as MetricsRow;
}

/** The columns of `metrics.csv`, in order. */
export const METRICS_COLUMNS: readonly (keyof MetricsRow)[] = [
  'kind',
  'step',
  'epoch',
  'loss',
  'lr',
  'trainTop1Error',
  'trainTop5Error',
  'top1Error',
  'top5Error',
  'valLoss',
  'imagesPerSec',
  'time',
];

/**
 * Reads a `metrics.jsonl` file.
 *
 * @param path - The file; a missing file has no rows.
 * @returns Its rows, in order. A last line cut short by a crash (no newline, not valid JSON) is left out.
 * @throws Error naming the file and line on any other malformed line.
 * @see He et al., arXiv 1512.03385, Figure 4 (the curves these rows feed, via {@link "@convnets/cli"!renderCurves | renderCurves} of `@convnets/cli`): https://arxiv.org/abs/1512.03385
 * @example
 * ```ts
 * const epochs = readMetrics('runs/r20/metrics.jsonl').filter((r) => r.kind === 'epoch');
 * ```
 */
export function readMetrics(path: string): MetricsRow[] {
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, 'utf8').split('\n');
  const rows: MetricsRow[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      rows.push(renameLegacyErrors(JSON.parse(line) as MetricsRow & LegacyErrors));
    } catch (error) {
      // The last line has no newline only when an append was cut short.
      if (i === lines.length - 1) return;
      throw new Error(
        `${path}, line ${i + 1}: not a metrics row (${(error as Error).message}): ${line.length > 80 ? `${line.slice(0, 80)}…` : line}`,
        { cause: error },
      );
    }
  });
  return rows;
}

/**
 * Appends rows to `metrics.jsonl` and `metrics.csv` (synchronously, so a crash
 * loses at most the row being written). The trainer keeps one per run; use it
 * directly to log a custom loop in the same format.
 *
 * @example
 * ```ts
 * const log = new MetricsLog('runs/custom/metrics.jsonl', 'runs/custom/metrics.csv');
 * log.append({
 *   kind: 'step', step: 1, epoch: 0, loss: 2.3, lr: 0.1,
 *   trainTop1Error: 90, trainTop5Error: 50, imagesPerSec: 120, time: 0.5,
 * });
 * ```
 */
export class MetricsLog {
  /**
   * Creates the files' folder if needed; the files themselves appear with the first row.
   *
   * @param jsonlPath - Path of the JSON Lines file.
   * @param csvPath - Path of the CSV file (columns {@link METRICS_COLUMNS}).
   * @throws Error from the file system when the folder cannot be created (e.g. `EACCES`).
   */
  constructor(
    /** Path of the JSON Lines file. */
    readonly jsonlPath: string,
    /** Path of the CSV file. */
    readonly csvPath: string,
  ) {
    mkdirSync(dirname(jsonlPath), { recursive: true });
  }

  /**
   * Drops the rows a resumed run will redo, from both files, which are
   * replaced atomically (a crash leaves the old files or the new ones).
   *
   * @param step - The last step kept.
   * @param epochsCompleted - Also drop the epoch rows of this epoch and later
   * ones (epochs the resumed run will finish and write again); default: keep
   * every epoch row up to `step`.
   * @throws Error from the file system when a file cannot be written, or naming the file and line on a malformed row.
   */
  truncateAfter(step: number, epochsCompleted = Infinity): void {
    const rows = readMetrics(this.jsonlPath).filter(
      (r) => r.step <= step && !(r.kind === 'epoch' && r.epoch >= epochsCompleted),
    );
    writeFileAtomic(this.jsonlPath, rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    writeFileAtomic(
      this.csvPath,
      [METRICS_COLUMNS.join(','), ...rows.map(csvLine)].join('\n') + '\n',
    );
  }

  /**
   * Appends one row to both files.
   *
   * @param row - The row.
   * @throws Error from the file system when a file cannot be written (e.g. `ENOSPC`).
   */
  append(row: MetricsRow): void {
    appendFileSync(this.jsonlPath, `${JSON.stringify(row)}\n`);
    if (!existsSync(this.csvPath)) writeFileSync(this.csvPath, `${METRICS_COLUMNS.join(',')}\n`);
    appendFileSync(this.csvPath, `${csvLine(row)}\n`);
  }
}

function csvLine(row: MetricsRow): string {
  return METRICS_COLUMNS.map((c) => (row[c] === undefined ? '' : String(row[c]))).join(',');
}
