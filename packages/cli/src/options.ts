import { Option } from '@commander-js/extra-typings';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { selectBackend } from './backend';
import { fail } from './output';

/** The `--backend` flag every command that runs a model takes. */
export function backendOption() {
  return new Option('--backend <name>', 'tfjs backend').choices([
    'auto',
    'tensorflow',
    'native',
    'wasm',
    'cpu',
  ] as const);
}

/** The `--preprocess` flag of eval and predict. */
export function preprocessOption() {
  return new Option(
    '--preprocess <kind>',
    'image normalisation: paper (mean subtraction, as convnets train) or torchvision ((x/255 - mean)/std); default paper for checkpoints, torchvision for .safetensors',
  ).choices(['paper', 'torchvision'] as const);
}

/** The parser of a `--<name> <n>` flag that takes a non-negative integer. */
export function int(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0)
      fail(`--${name} must be a non-negative integer; received "${value}"`);
    return n;
  };
}

/** The parser of a `--<name> <x>` flag that takes a finite number. */
export function num(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n)) fail(`--${name} must be a number; received "${value}"`);
    return n;
  };
}

/** Activates the `--backend` choice (for training: one with a convolution filter gradient); resolves to its name. */
export async function useBackend(choice: string, forTraining: boolean): Promise<string> {
  const { name } = await selectBackend(choice as Parameters<typeof selectBackend>[0], {
    forTraining,
  });
  return name;
}

/** `--data`: an image folder, or a root holding `train/` (and `val/`). */
export function splitData(root: string): { train: string; val?: string } {
  if (!existsSync(root)) fail(`data folder ${root} does not exist`);
  const isFolder = (path: string) => existsSync(path) && statSync(path).isDirectory();
  if (isFolder(join(root, 'train')))
    return {
      train: join(root, 'train'),
      val: isFolder(join(root, 'val')) ? join(root, 'val') : undefined,
    };
  return { train: root };
}
