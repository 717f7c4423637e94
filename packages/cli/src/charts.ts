import { writeFile } from 'node:fs/promises';
import type { MetricsRow } from '@convnets/trainer';

/** One run's curves for {@link renderCurves}. */
export interface CurveSeries {
  /** The run's name in the legend. */
  readonly name: string;
  /** Its metrics rows (`readMetrics(...)`). */
  readonly rows: readonly MetricsRow[];
}

/** A point of {@link trainingErrorCurve}: the training error over the `window` iterations up to `step`. */
export interface TrainingErrorPoint {
  /** The iteration (updates done). */
  readonly step: number;
  /** Top-1 training error (%) over the window ending at `step`. */
  readonly error: number;
}

/**
 * The training top-1 error as a curve without the restarts at each epoch:
 * metrics rows hold the error running over the epoch in progress (so a new
 * epoch's first rows average over a few batches only), from which the error
 * of each logged interval is recovered exactly (`k·e(k) − j·e(j)` over
 * `k − j` updates, k and j counted from the epoch's start, every update of
 * the same batch size), then averaged over the last `window` iterations.
 * Works on every row (as `convnets train` logs them) or a thinned subset, as
 * long as each epoch's closing row is kept; a step logged twice (a run resumed
 * after a crash) counts once, its last row.
 *
 * @param rows - A run's metrics rows.
 * @param window - Iterations averaged over (≥ 1); a logged interval counts whole when it ends inside the window.
 * @returns One point per logged step, in step order.
 * @example
 * ```ts
 * trainingErrorCurve(readMetrics('runs/resnet20/metrics.jsonl'), 200);
 * ```
 */
export function trainingErrorCurve(
  rows: readonly MetricsRow[],
  window: number,
): TrainingErrorPoint[] {
  // Last row per step; the epoch that a step belongs to.
  const byStep = new Map<number, MetricsRow>();
  for (const r of rows) if (Number.isFinite(r.trainTop1Error)) byStep.set(r.step, r);
  const ordered = [...byStep.values()].sort((a, b) => a.step - b.step);
  // Each epoch starts where the previous one's last row is.
  const epochEnd = new Map<number, number>();
  for (const r of ordered) epochEnd.set(r.epoch, Math.max(epochEnd.get(r.epoch) ?? 0, r.step));
  const intervals: { from: number; to: number; error: number }[] = [];
  let prev: { epoch: number; step: number; error: number } | undefined;
  for (const r of ordered) {
    const start = epochEnd.get(r.epoch - 1) ?? 0;
    const from = prev && prev.epoch === r.epoch ? prev.step : start;
    const before = prev && prev.epoch === r.epoch ? (prev.step - start) * prev.error : 0;
    if (r.step > from)
      intervals.push({
        from,
        to: r.step,
        error: ((r.step - start) * r.trainTop1Error - before) / (r.step - from),
      });
    prev = { epoch: r.epoch, step: r.step, error: r.trainTop1Error };
  }
  const points: TrainingErrorPoint[] = [];
  let first = 0;
  let sum = 0;
  let span = 0;
  for (const [i, it] of intervals.entries()) {
    sum += it.error * (it.to - it.from);
    span += it.to - it.from;
    while (first < i && intervals[first]!.to <= it.to - window) {
      const old = intervals[first++]!;
      sum -= old.error * (old.to - old.from);
      span -= old.to - old.from;
    }
    points.push({ step: it.to, error: sum / span });
  }
  return points;
}

/** The iterations that the thin training line averages over: 1/200 of the longest run, at least 1. */
function trainingWindow(series: readonly CurveSeries[]): number {
  const last = Math.max(0, ...series.flatMap((s) => s.rows.map((r) => r.step)));
  return Math.max(1, Math.round(last / 200));
}

/** The Vega-Lite specification of {@link renderCurves}. */
function spec(series: readonly CurveSeries[], title: string): Record<string, unknown> {
  const values: { run: string; iteration: number; error: number; split: string }[] = [];
  const window = trainingWindow(series);
  for (const { name, rows } of series) {
    for (const p of trainingErrorCurve(rows, window))
      values.push({ run: name, iteration: p.step, error: p.error, split: 'train' });
    for (const r of rows)
      if (r.kind === 'epoch' && r.top1Error !== undefined && Number.isFinite(r.top1Error))
        values.push({ run: name, iteration: r.step, error: r.top1Error, split: 'validation' });
  }
  const only = (split: string) => [{ filter: { field: 'split', equal: split } }];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: title,
      subtitle: `thin: training error (over the last ${window} iteration${window === 1 ? '' : 's'}), bold: validation error`,
    },
    width: 520,
    height: 320,
    background: 'white',
    data: { values },
    encoding: {
      x: { field: 'iteration', type: 'quantitative', title: 'iterations' },
      y: { field: 'error', type: 'quantitative', title: 'top-1 error (%)' },
      // Vega cuts legend labels at 160 px by default ("degradation-resnet…"),
      // which hides the one thing that tells two runs' lines apart.
      color: { field: 'run', type: 'nominal', title: 'run', legend: { labelLimit: 1000 } },
    },
    layer: [
      { transform: only('train'), mark: { type: 'line', strokeWidth: 1, opacity: 0.7 } },
      { transform: only('validation'), mark: { type: 'line', strokeWidth: 3, point: true } },
    ],
  };
}

/**
 * Draws training curves as in the ResNet paper's Figure 4: top-1 error against
 * iterations, the training error as a thin line ({@link trainingErrorCurve},
 * averaged over 1/200 of the longest run's iterations) and the validation
 * error of every epoch as a bold one, one colour per run, as SVG
 * (Vega-Lite, no native code).
 *
 * @param series - The runs, each with its `metrics.jsonl` rows ({@link "@convnets/trainer"!readMetrics | readMetrics} of `@convnets/trainer`).
 * @param options - `title` (default `'top-1 error'`); default `{}`.
 * @returns The SVG document.
 * @throws Error when `vega` or `vega-lite` cannot be imported, or Vega fails to render the chart.
 * @example
 * ```ts
 * const svg = await renderCurves([
 *   { name: 'plain-20', rows: readMetrics('runs/plain20/metrics.jsonl') },
 *   { name: 'resnet-20', rows: readMetrics('runs/resnet20/metrics.jsonl') },
 * ]);
 * ```
 * @see He et al., arXiv 1512.03385, Figure 4.
 */
export async function renderCurves(
  series: readonly CurveSeries[],
  options: { title?: string } = {},
): Promise<string> {
  const vegaLite = await import('vega-lite');
  const vega = await import('vega');
  const compiled = vegaLite.compile(spec(series, options.title ?? 'top-1 error') as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

/**
 * Writes {@link renderCurves}' chart to a file: SVG, or PNG (through sharp)
 * when the path ends in `.png`.
 *
 * @param path - The file.
 * @param series - The runs.
 * @param options - `title` (default `'top-1 error'`); default `{}`.
 * @throws Error when the file cannot be written, or (PNG) sharp is not installed.
 * @see He et al., arXiv 1512.03385, Figure 4 (the curves drawn): https://arxiv.org/abs/1512.03385
 * @example
 * ```ts
 * await writeCurves('fig4.png', [
 *   { name: 'plain-20', rows: readMetrics('runs/plain20/metrics.jsonl') },
 *   { name: 'resnet-20', rows: readMetrics('runs/resnet20/metrics.jsonl') },
 * ]);
 * ```
 */
export async function writeCurves(
  path: string,
  series: readonly CurveSeries[],
  options: { title?: string } = {},
): Promise<void> {
  const svg = await renderCurves(series, options);
  if (!path.toLowerCase().endsWith('.png')) {
    await writeFile(path, svg);
    return;
  }
  const { default: sharp } = await import('sharp');
  await sharp(Buffer.from(svg), { density: 144 }).png().toFile(path);
}
