// Builds the classify page into site/classify/ (after typedoc, which empties
// site/): exports a tiny model with `convnets export` (a cifar_resnet8 with
// seeded, untrained weights: no network), bundles browser/main.ts with
// tfjs and @convnets/imagenet-data/browser, and copies tfjs's wasm binaries.
import '@tensorflow/tfjs-backend-cpu';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { CIFAR10_CLASSES } from '@convnets/imagenet-data';
import { cifarResNet, saveWeights } from '@convnets/resnet';

const docs = fileURLToPath(new URL('..', import.meta.url));
const out = join(docs, 'site', 'classify');
const require = createRequire(import.meta.url);
const packageDir = (name) => dirname(require.resolve(`${name}/package.json`));

/** The bundled model: its seed and classes (docs/test/classify.test.ts uses the same). */
export const TINY = {
  arch: 'cifar_resnet8',
  seed: 17,
  classes: CIFAR10_CLASSES,
  weights: join(out, 'tiny-cifar-resnet8.safetensors'),
};

async function exportTinyModel() {
  const model = cifarResNet(8, { classes: 10, seed: TINY.seed, classifierActivation: null });
  await saveWeights(model, TINY.weights);
  const bin = join(packageDir('@convnets/cli'), 'bin', 'convnets.js');
  const args = ['export', '--arch', TINY.arch, '--weights', TINY.weights];
  args.push('--classes', TINY.classes.join(','), '--out', join(out, 'model'));
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`convnets ${args.join(' ')}: ${r.stderr}`);
}

async function bundle() {
  await build({
    entryPoints: [join(docs, 'browser', 'main.ts')],
    outfile: join(out, 'app.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  copyFileSync(join(docs, 'browser', 'index.html'), join(out, 'index.html'));
  const wasm = join(packageDir('@tensorflow/tfjs-backend-wasm'), 'dist');
  for (const f of readdirSync(wasm).filter((name) => name.endsWith('.wasm')))
    copyFileSync(join(wasm, f), join(out, f));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  mkdirSync(out, { recursive: true });
  await exportTinyModel();
  await bundle();
  console.log(`classify page: ${out}`);
}
