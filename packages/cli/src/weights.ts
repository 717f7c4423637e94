import { countNonFinite, type NonFiniteTensor } from '@convnets/layers';
import type { ExpectedWeight } from './architectures';

/** `[a, b, c]`, as the loaders write shapes. */
function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** A state-dict key in quotes, escaped (one line) and cut to 200 characters: keys come from the file. */
function quote(key: string): string {
  return key.length > 200
    ? `${JSON.stringify(key.slice(0, 200))}… (${key.length} characters)`
    : JSON.stringify(key);
}

/** The first `max` items joined by `; `, then how many more: one line for an error. */
export function inline(items: readonly string[], max = 3): string {
  const shown = items.slice(0, max).join('; ');
  return items.length > max ? `${shown}; and ${items.length - max} more` : shown;
}

/**
 * What keeps a PyTorch state dict from fitting the expected weights: wrong
 * shapes first, then missing keys, then unexpected keys, one phrase each. Only
 * the header is needed, so it runs before any model is built. `tensors` is
 * keyed as the format maps (its canonical keys); `key`, when given, is the
 * file's own, which the phrases name.
 */
export function stateDictProblems(
  tensors: ReadonlyMap<string, { readonly shape: readonly number[]; readonly key?: string }>,
  expected: readonly ExpectedWeight[],
  ignore: RegExp | undefined,
): string[] {
  const shapes: string[] = [];
  const missing: string[] = [];
  const used = new Set<string>();
  for (const w of expected) {
    if (!w.torchvision) {
      missing.push(`${w.name} has no torchvision counterpart`);
      continue;
    }
    const { key, shape } = w.torchvision;
    used.add(key);
    const found = tensors.get(key);
    if (!found) missing.push(`missing key ${quote(key)} (for ${w.name})`);
    else if (shapeText(found.shape) !== shapeText(shape))
      shapes.push(
        `${quote(found.key ?? key)} has shape ${shapeText(found.shape)}, expected ${shapeText(shape)} (for ${w.name})`,
      );
  }
  const unexpected = [...tensors]
    .map(([key, t]) => [key, t.key ?? key] as const)
    .filter(([key, fileKey]) => !used.has(key) && !ignore?.test(fileKey))
    .map(([, fileKey]) => `unexpected key ${quote(fileKey)}`);
  return [...shapes, ...missing, ...unexpected];
}

/** What keeps a checkpoint's weights (in `model.weights` order) from fitting the expected ones. */
export function checkpointProblems(
  weights: readonly { readonly shape: readonly number[] }[],
  expected: readonly ExpectedWeight[],
): string[] {
  if (weights.length !== expected.length)
    return [`it holds ${weights.length} weights, expected ${expected.length}`];
  const problems: string[] = [];
  expected.forEach((w, i) => {
    if (shapeText(weights[i].shape) !== shapeText(w.shape))
      problems.push(
        `weight ${i} (${w.name}) has shape ${shapeText(weights[i].shape)}, expected ${shapeText(w.shape)}`,
      );
  });
  return problems;
}

/**
 * The tensors among `tensors` that hold NaN or ±Infinity, as `@convnets/layers`'
 * loaders report them for state dicts (checkpoints are read here, not by them).
 */
export function nonFiniteTensors(
  tensors: Iterable<{ key: string; weight: string; data: Float32Array }>,
): NonFiniteTensor[] {
  const out: NonFiniteTensor[] = [];
  for (const { key, weight, data } of tensors) {
    const { nan, infinite } = countNonFinite(data);
    if (nan + infinite > 0) out.push({ key, weight, size: data.length, nan, infinite });
  }
  return out;
}

/** The one-line warning about `found` (non-empty) among `total` tensors of `source`. */
export function nonFiniteWarning(
  source: string,
  found: readonly NonFiniteTensor[],
  total: number,
): string {
  const items = found.map(({ key, weight, size, nan, infinite }) => {
    const counts = [nan > 0 ? `${nan} NaN` : '', infinite > 0 ? `${infinite} infinite` : '']
      .filter(Boolean)
      .join(' and ');
    return `${key === weight ? weight : `${quote(key)} (${weight})`}: ${counts} of ${size} values`;
  });
  return `weights ${source}: ${found.length} of ${total} tensors hold NaN or infinite values (loaded as they are; predictions may be NaN): ${inline(items)}`;
}
