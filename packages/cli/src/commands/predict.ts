import type { Command } from '@commander-js/extra-typings';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { existsSync, readFileSync, statSync } from 'node:fs';
import {
  decodePredictions,
  IMAGENET_WNIDS,
  transformImage,
  type Transform,
} from '@convnets/imagenet-data';
import { outputsProbabilities } from '@convnets/trainer';
import { architecture } from '../architectures';
import { loadModel } from '../model';
import {
  backendOption,
  channelPaddingOption,
  int,
  meanOption,
  preprocessOption,
  stdOption,
  torchvisionStats,
  useBackend,
} from '../options';
import { fail, note, oneLine } from '../output';

/** Declares `convnets predict` and its flags (their types are inferred from here). */
function declare(program: Command) {
  return program
    .command('predict')
    .description('top-5 classes of images')
    .argument('<images...>', 'image files')
    .requiredOption('--arch <name>', 'architecture')
    .requiredOption(
      '--weights <path>',
      'checkpoint folder, run folder, .pth or .safetensors file (PyTorch state dict: torchvision, or CIFAR ResNet), weights name (IMAGENET1K_V2, DEFAULT: downloaded, with its eval resize and classes) or http(s) URL (downloaded once into $CONVNETS_HOME)',
    )
    .option('--top <k>', 'classes shown (default 5; at most the class count)', (value: string) => {
      const k = int('top')(value);
      if (k < 1) fail(`--top must be at least 1; received ${value}`);
      return k;
    })
    .option(
      '--classes <names>',
      'class names of a .safetensors state dict: comma-separated, or a file with one per line (default: ImageNet names for 1000 classes, else indices)',
    )
    .option('--image-size <px>', 'input size', int('image-size'))
    .addOption(channelPaddingOption())
    .addOption(preprocessOption())
    .addOption(meanOption())
    .addOption(stdOption())
    .addOption(backendOption().default('auto' as const))
    .option('--json', 'print one JSON document');
}

/** The flags of `convnets predict`. */
type PredictFlags = ReturnType<ReturnType<typeof declare>['opts']>;

/** One image's best classes. */
interface Prediction {
  image: string;
  top: { class: string; name: string; probability: number }[];
}

/** Registers `convnets predict`. */
export function predictCommand(program: Command): void {
  declare(program).action(runPredict);
}

/** `--classes`: a comma-separated list, or a text file with one name per line. */
export function classList(value: string): string[] {
  const names =
    existsSync(value) && statSync(value).isFile()
      ? readFileSync(value, 'utf8').split('\n')
      : value.split(',');
  return names.map((n) => n.trim()).filter(Boolean);
}

/** Only regular files are read: a folder or a FIFO named *.jpg is refused, by name. */
function checkImages(images: readonly string[]): void {
  for (const image of images) {
    if (!existsSync(image)) fail(`image ${image} does not exist`);
    const stat = statSync(image);
    if (stat.isDirectory()) fail(`image ${image} is a directory; expected an image file`);
    if (!stat.isFile())
      fail(
        `image ${image} is not a regular file (a FIFO, socket or device); expected an image file`,
      );
  }
}

/** A state dict's class names: `--classes`, else ImageNet's for 1000 classes, else the indices. */
export function stateDictClasses(
  o: { classes?: string; weights: string },
  count: number,
): readonly string[] {
  if (o.classes !== undefined) {
    const names = classList(o.classes);
    if (names.length !== count)
      fail(`--classes names ${names.length} classes but weights ${o.weights} classify ${count}`);
    return names;
  }
  if (count === IMAGENET_WNIDS.length) return IMAGENET_WNIDS;
  return Array.from({ length: count }, (_, i) => String(i));
}

/** The class probabilities of one image. */
async function probabilities(
  model: LayersModel,
  image: string,
  transform: Transform,
): Promise<Float32Array> {
  let view: Awaited<ReturnType<typeof transformImage>>[number];
  try {
    [view] = await transformImage(image, transform);
  } catch (error) {
    const message = oneLine((error as Error).message);
    fail(message.includes(image) ? message : `image ${image}: ${message}`);
  }
  return tf.tidy(() => {
    const y = model.predict(tf.tensor4d(view.data, [1, view.height, view.width, 3])) as tf.Tensor2D;
    return (outputsProbabilities(model) ? y : tf.softmax(y)).dataSync() as Float32Array;
  });
}

/** The `k` most probable classes, with ImageNet's names when the classes are ImageNet's. */
function best(p: Float32Array, classes: readonly string[], k: number): Prediction['top'] {
  const imagenet = classes.length === 1000 && classes.every((c, i) => c === IMAGENET_WNIDS[i]);
  if (imagenet)
    return decodePredictions(p, k).map((r) => ({
      class: r.wnid,
      name: r.name,
      probability: r.probability,
    }));
  return [...p.keys()]
    .sort((x, y) => p[y] - p[x])
    .slice(0, k)
    .map((c) => ({ class: classes[c], name: classes[c], probability: p[c] }));
}

/** `convnets predict`: loads the weights and prints each image's best classes. */
async function runPredict(images: string[], o: PredictFlags): Promise<void> {
  checkImages(images);
  const a = architecture(o.arch, { channelPadding: o.channelPadding });
  await useBackend(o.backend, false);
  let stateDict = false;
  const { model, classes, size, preprocessing, pixelMean, resize } = await loadModel(a, o.weights, {
    imageSize: o.imageSize,
    preprocess: o.preprocess,
    classNames: async (count) => {
      stateDict = true;
      return stateDictClasses(o, count);
    },
  });
  if (o.classes !== undefined && !stateDict)
    fail(
      `--classes is for .safetensors state dicts; the checkpoint ${o.weights} has its own class list`,
    );
  const transform = a.evalTransform(size, {
    preprocessing,
    pixelMean,
    resize,
    ...torchvisionStats(o, preprocessing),
  });
  const k = Math.min(o.top ?? 5, classes.length);
  if (o.top !== undefined && o.top > classes.length)
    note(`--top ${o.top} is more than the ${classes.length} classes; showing ${classes.length}`);
  const out: Prediction[] = [];
  for (const image of images)
    out.push({ image, top: best(await probabilities(model, image, transform), classes, k) });
  if (o.json) console.log(JSON.stringify(out));
  else
    for (const r of out)
      console.log(
        `${r.image}: ${r.top.map((t) => `${t.name} ${(100 * t.probability).toFixed(1)}%`).join(', ')}`,
      );
}
