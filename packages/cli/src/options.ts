import { Option } from '@commander-js/extra-typings';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { EvalOptions, Preprocessing } from './architectures';
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
    'image normalisation: paper (as convnets train: ImageNet mean subtraction; CIFAR-10 mean and std for CIFAR nets) or torchvision ((x/255 - mean)/std, ImageNet mean and std unless --mean/--std); default paper for checkpoints and CIFAR nets, torchvision for ImageNet .safetensors',
  ).choices(['paper', 'torchvision'] as const);
}

/** The parser of a `--<name> r,g,b` flag: three finite numbers, positive ones when `positive`. */
function rgb(name: string, positive: boolean) {
  return (value: string): readonly [number, number, number] => {
    const parts = value.split(',').map((p) => p.trim());
    const numbers = parts.map((p) => (p === '' ? NaN : Number(p)));
    const ok =
      numbers.length === 3 && numbers.every((n) => Number.isFinite(n) && (!positive || n > 0));
    if (!ok)
      fail(
        `--${name} must be three ${positive ? 'positive' : 'finite'} numbers r,g,b on the 0 … 1 scale (e.g. ${name === 'mean' ? '0.485,0.456,0.406' : '0.229,0.224,0.225'}); received "${value}"`,
      );
    return numbers as [number, number, number];
  };
}

/** The `--mean` flag of eval and predict: torchvision's normalisation. */
export function meanOption() {
  return new Option(
    '--mean <r,g,b>',
    'per-channel mean for --preprocess torchvision (only), 0 … 1 scale (default ImageNet 0.485,0.456,0.406)',
  ).argParser(rgb('mean', false));
}

/** The `--std` flag of eval and predict: torchvision's normalisation. */
export function stdOption() {
  return new Option(
    '--std <r,g,b>',
    'per-channel std for --preprocess torchvision (only), 0 … 1 scale, positive (default ImageNet 0.229,0.224,0.225)',
  ).argParser(rgb('std', true));
}

/**
 * `--mean` and `--std` as {@link EvalOptions}: they apply to torchvision's
 * preprocessing only, so they are refused with the paper's.
 */
export function torchvisionStats(
  o: Pick<EvalOptions, 'mean' | 'std'>,
  preprocessing: Preprocessing,
): Pick<EvalOptions, 'mean' | 'std'> {
  const given = [o.mean && '--mean', o.std && '--std'].filter(Boolean).join(' and ');
  if (given && preprocessing !== 'torchvision')
    fail(
      `${given} apply to --preprocess torchvision only; these weights are evaluated with --preprocess paper (the default for checkpoints and CIFAR nets): add --preprocess torchvision`,
    );
  return { mean: o.mean, std: o.std };
}

/** The `--channel-padding` flag of every command that builds an architecture. */
export function channelPaddingOption() {
  return new Option(
    '--channel-padding <where>',
    "CIFAR ResNets: where option A's zero channels go, end (default) or both (as PyTorch CIFAR ResNets such as akamaster/pytorch_resnet_cifar10 pad; their weights need it)",
  ).choices(['end', 'both'] as const);
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
