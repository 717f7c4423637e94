import { writeFile } from 'node:fs/promises';
import type { MetricsRow } from './metrics-log';

/** One run's curves for {@link renderCurves}. */
export interface CurveSeries {
  /** The run's name in the legend. */
  readonly name: string;
  /** Its metrics rows (`readMetrics(...)`). */
  readonly rows: readonly MetricsRow[];
}

function spec(series: readonly CurveSeries[], title: string): Record<string, unknown> {
  const values: { run: string; iteration: number; error: number; split: string }[] = [];
  for (const { name, rows } of series) {
    for (const r of rows) {
      if (r.kind !== 'epoch') continue;
      if (Number.isFinite(r.trainTop1))
        values.push({ run: name, iteration: r.step, error: r.trainTop1, split: 'train' });
      if (r.top1 !== undefined && Number.isFinite(r.top1))
        values.push({ run: name, iteration: r.step, error: r.top1, split: 'validation' });
    }
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 520,
    height: 320,
    background: 'white',
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'iteration', type: 'quantitative', title: 'iterations' },
      y: { field: 'error', type: 'quantitative', title: 'top-1 error (%)' },
      color: { field: 'run', type: 'nominal', title: 'run' },
      strokeDash: { field: 'split', type: 'nominal', title: '', sort: ['validation', 'train'] },
    },
  };
}

/**
 * Draws training curves as in the ResNet paper's Figure 4: top-1 error vs
 * iterations, training dashed and validation solid, one colour per run, as
 * SVG (vega-lite, no native code).
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

/** Writes {@link renderCurves} to `path`: SVG, or PNG (through sharp) when the path ends in `.png`. */
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
