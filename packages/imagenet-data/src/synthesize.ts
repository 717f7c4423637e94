import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { Random } from './rng';
import {
  checkNonNegativeInt,
  checkOptions,
  checkPositiveInt,
  numberCheck,
  oneOf,
  optional,
  withDefault,
  type OptionSpec,
} from '@convnets/validate';

/** Options of {@link synthesizeImageFolder}. */
export interface SynthesizeOptions {
  /**
   * Number of classes.
   *
   * @defaultValue 10
   */
  classes?: number;
  /**
   * Training images per class.
   *
   * @defaultValue 20
   */
  perClass?: number;
  /**
   * Validation images per class (0 allowed).
   *
   * @defaultValue a quarter of `perClass` (rounded down), at least 1
   */
  valPerClass?: number;
  /**
   * Image side in pixels (images are square), at most 8000 (so that the
   * loader's default `limitInputPixels`, 64,000,000, reads them).
   *
   * @defaultValue 64
   */
  size?: number;
  /**
   * Seed, a non-negative integer: the same seed writes the same pixels.
   *
   * @defaultValue 0
   */
  seed?: number;
  /**
   * Image format (`'jpeg'` as ImageNet, quality 90).
   *
   * @defaultValue 'jpeg'
   */
  format?: 'jpeg' | 'png';
}

/** The largest image side {@link synthesizeImageFolder} writes: 8000² pixels is the loader's default `limitInputPixels`. */
const MAX_SIZE = 8000;

/** The one declaration of {@link SynthesizeOptions}. */
const SYNTHESIZE_SPEC = {
  classes: withDefault(checkPositiveInt, 10),
  perClass: withDefault(checkPositiveInt, 20),
  valPerClass: optional(checkNonNegativeInt), // default: a quarter of perClass, at least 1
  // Images of 8000 × 8000 at most: larger ones would be refused by the
  // loader's default limitInputPixels (and 100,000 × 100,000 cannot even be
  // allocated).
  size: withDefault(
    numberCheck(
      (v) => Number.isInteger(v) && v >= 1 && v <= MAX_SIZE,
      `an integer from 1 to ${MAX_SIZE} (${MAX_SIZE} × ${MAX_SIZE} = ${(MAX_SIZE * MAX_SIZE).toLocaleString('en-US')} pixels, the loader's default limitInputPixels)`,
    ),
    64,
  ),
  seed: withDefault(checkNonNegativeInt, 0),
  format: withDefault(oneOf(['jpeg', 'png'] as const), 'jpeg'),
} satisfies OptionSpec<SynthesizeOptions>;

/** What {@link synthesizeImageFolder} wrote. */
export interface SynthesizedFolder {
  /** `dir/train`, laid out `<class>/<image>`. */
  readonly train: string;
  /** `dir/val`, laid out `<class>/<image>`. */
  readonly val: string;
  /** The class folder names, in class-index order. */
  readonly classes: readonly string[];
}

/** The eight patterns, one per class (cycled; classes beyond 8 also differ by colour family). */
const PATTERNS = [
  'disc',
  'square',
  'hstripes',
  'vstripes',
  'checker',
  'ring',
  'diagonal',
  'cross',
] as const;

function hsvToRgb(h: number, s: number, v: number): [number, number, number] {
  const i = Math.floor(h * 6);
  const f = h * 6 - i;
  const p = v * (1 - s);
  const q = v * (1 - f * s);
  const t = v * (1 - (1 - f) * s);
  const table: [number, number, number][] = [
    [v, t, p],
    [q, v, p],
    [p, v, t],
    [p, q, v],
    [t, p, v],
    [v, p, q],
  ];
  return table[((i % 6) + 6) % 6].map((c) => Math.round(c * 255)) as [number, number, number];
}

/** Whether the pixel at (x, y), (dx, dy) from the centre, is in the pattern's foreground. */
function patternOn(
  pattern: (typeof PATTERNS)[number],
  { x, y, dx, dy }: { x: number; y: number; dx: number; dy: number },
  { r, period, phase }: { r: number; period: number; phase: number },
): boolean {
  const inside = Math.abs(dx) < r && Math.abs(dy) < r;
  switch (pattern) {
    case 'disc':
      return dx * dx + dy * dy < r * r;
    case 'square':
      return inside;
    case 'hstripes':
      return Math.floor((y + phase) / period) % 2 === 0;
    case 'vstripes':
      return Math.floor((x + phase) / period) % 2 === 0;
    case 'checker':
      return (Math.floor((x + phase) / period) + Math.floor((y + phase) / period)) % 2 === 0;
    case 'ring': {
      const d = Math.sqrt(dx * dx + dy * dy);
      return d < r && d > r * 0.6;
    }
    case 'diagonal':
      return Math.floor((x + y + phase) / period) % 2 === 0;
    default:
      return (
        (Math.abs(dx) < r * 0.25 && Math.abs(dy) < r) ||
        (Math.abs(dy) < r * 0.25 && Math.abs(dx) < r)
      );
  }
}

function paint(k: number, classes: number, size: number, rng: Random): Buffer {
  const pattern = PATTERNS[k % PATTERNS.length];
  const families = Math.ceil(classes / PATTERNS.length);
  const family = Math.floor(k / PATTERNS.length);
  // Colour is noise within a class unless several classes share a pattern.
  const hue = families > 1 ? (family + rng.uniform(0.1, 0.9)) / families : rng.float();
  const fg = hsvToRgb(hue, rng.uniform(0.5, 1), rng.uniform(0.6, 1));
  const bg = hsvToRgb(rng.float(), rng.uniform(0, 0.4), rng.uniform(0.05, 0.35));
  const cx = size * rng.uniform(0.35, 0.65);
  const cy = size * rng.uniform(0.35, 0.65);
  const r = size * rng.uniform(0.2, 0.32);
  const period = size * rng.uniform(0.12, 0.2);
  const phase = rng.uniform(0, period);
  const pixels = Buffer.alloc(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const dx = x - cx;
      const dy = y - cy;
      const on = patternOn(pattern, { x, y, dx, dy }, { r, period, phase });
      const base = on ? fg : bg;
      const o = (y * size + x) * 3;
      for (let c = 0; c < 3; c++) {
        pixels[o + c] = Math.max(0, Math.min(255, Math.round(base[c] + rng.normal() * 12)));
      }
    }
  }
  return pixels;
}

/**
 * Writes a small, learnable image-folder dataset in ImageNet's layout,
 * `dir/train/<class>/<image>.JPEG` and `dir/val/<class>/<image>.JPEG`: each
 * class is a shape or texture (disc, square, stripes, checkerboard, ring,
 * cross…) under random colour, position, size and pixel noise. For demos and
 * tests that need real files.
 *
 * @example
 * ```ts
 * const { train, val } = await synthesizeImageFolder('/tmp/shapes', { classes: 4, perClass: 32, size: 64 });
 * const loader = createLoader(await imageFolder(train), { transform: cifarTrain({ size: 56 }), batchSize: 16 });
 * ```
 * @param dir - The folder to write into (created if missing); `train/` and
 *   `val/` are made inside it, and existing files of the same names are overwritten.
 * @param options - Classes, images per class, size, seed and format (default
 *   `{}`: 10 classes, 20 training and 5 validation images each, 64×64 JPEG, seed 0).
 * @returns The `train` and `val` folders and the class names (`class_0` …).
 * @throws Error when an option is unknown or invalid, or when a folder or file
 *   cannot be written.
 */
export async function synthesizeImageFolder(
  dir: string,
  options: SynthesizeOptions = {},
): Promise<SynthesizedFolder> {
  const where = 'synthesizeImageFolder';
  const { classes, perClass, size, seed, format, ...checked } = checkOptions(
    where,
    options,
    SYNTHESIZE_SPEC,
  );
  const valPerClass = checked.valPerClass ?? Math.max(1, Math.floor(perClass / 4));
  const digits = String(classes - 1).length;
  const names = Array.from(
    { length: classes },
    (_, k) => `class_${String(k).padStart(digits, '0')}`,
  );
  const train = join(dir, 'train');
  const val = join(dir, 'val');
  const jobs: (() => Promise<unknown>)[] = [];
  for (const [split, root, count, salt] of [
    ['train', train, perClass, 1],
    ['val', val, valPerClass, 2],
  ] as const) {
    for (let k = 0; k < classes; k++) {
      const folder = join(root, names[k]);
      await mkdir(folder, { recursive: true });
      for (let i = 0; i < count; i++) {
        const file = join(
          folder,
          `${names[k]}_${split}_${String(i).padStart(4, '0')}.${format === 'jpeg' ? 'JPEG' : 'png'}`,
        );
        jobs.push(() => {
          const pixels = paint(k, classes, size, new Random(seed, salt, k, i));
          const image = sharp(pixels, { raw: { width: size, height: size, channels: 3 } });
          return (format === 'jpeg' ? image.jpeg({ quality: 90 }) : image.png()).toFile(file);
        });
      }
    }
  }
  for (let i = 0; i < jobs.length; i += 8)
    await Promise.all(jobs.slice(i, i + 8).map((job) => job()));
  return { train, val, classes: names };
}
