// The bench's command-line options (see ../bench.mjs) and what every part
// of it shares: the photos and the CPU-time unit.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
export const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
export const flag = (name) => args.includes(`--${name}`);
export const photosDir = option(
  'photos',
  fileURLToPath(new URL('../../../../../shared/data/imagenet-sample', import.meta.url)),
);
export const images = Number(option('images', 2000));
export const memoryImages = Number(option('memory-images', 10000));
export const stagePlans = Number(option('stage-plans', 3));
export const rounds = Number(option('rounds', 2));
export const batchSize = 32;

export function photoList() {
  if (!existsSync(photosDir)) {
    throw new Error(`bench: no photos at ${photosDir}; pass --photos DIR (a folder of JPEGs).`);
  }
  return readdirSync(photosDir)
    .filter((f) => /\.jpe?g$/i.test(f))
    .sort()
    .map((f) => join(photosDir, f));
}

export const cpuMs = (usage) => (usage.user + usage.system) / 1000;
