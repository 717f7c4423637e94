import { writeFile } from 'node:fs/promises';
import type { MetricsRow } from '@convnets/trainer';

/** One run's curves for {@link renderCurves}. */
export interface CurveSeries {
  /** The run's name in the legend. */
  readonly name: string;
  /** Its metrics rows (`readMetrics(...)`). */
  readonly rows: readonly MetricsRow[];
}

/** The Vega-Lite specification of {@link renderCurves}. */
function spec(series: readonly CurveSeries[], title: string): Record<string, unknown> {
  const values: { run: string; iteration: number; error: number; split: string }[] = [];
  for (const { name, rows } of series) {
    // Training error at every logged step (epoch rows repeat their last step's figure).
    const stepped = new Set(rows.filter((r) => r.kind === 'step').map((r) => r.step));
    for (const r of rows) {
      if (r.kind === 'step' || !stepped.has(r.step))
        if (Number.isFinite(r.trainTop1Error))
          values.push({ run: name, iteration: r.step, error: r.trainTop1Error, split: 'train' });
      if (r.kind === 'epoch' && r.top1Error !== undefined && Number.isFinite(r.top1Error))
        values.push({ run: name, iteration: r.step, error: r.top1Error, split: 'validation' });
    }
  }
  const only = (split: string) => [{ filter: { field: 'split', equal: split } }];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle: 'thin: training error, bold: validation error' },
    width: 520,
    height: 320,
    background: 'white',
    data: { values },
    encoding: {
      x: { field: 'iteration', type: 'quantitative', title: 'iterations' },
      y: { field: 'error', type: 'quantitative', title: 'top-1 error (%)' },
      color: { field: 'run', type: 'nominal', title: 'run' },
    },
    layer: [
      { transform: only('train'), mark: { type: 'line', strokeWidth: 1, opacity: 0.7 } },
      { transform: only('validation'), mark: { type: 'line', strokeWidth: 3, point: true } },
    ],
  };
}

/**
 * Draws training curves as in the ResNet paper's Figure 4: top-1 error against
 * iterations, the training error of every logged step as a thin line and the
 * validation error of every epoch as a bold one, one colour per run, as SVG
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
