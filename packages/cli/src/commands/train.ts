import type { Command } from '@commander-js/extra-typings';
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import {
  cifarEval,
  computeMean,
  holdOutPerClass,
  imageFolder,
  readCifarArchive,
  type ImageDataset,
  type MeanImage,
  type PixelDataset,
} from '@convnets/imagenet-data';
import {
  arrayEvaluationData,
  arrayTrainingData,
  folderEvaluationData,
  folderTrainingData,
  readMetrics,
  train,
  type TrainerOptions,
} from '@convnets/trainer';
import { architecture, type Architecture } from '../architectures';
import { writeCurves } from '../charts';
import { splitData, useBackend } from '../options';
import { pixelMeanRecord } from '../checkpoint-preprocessing';
import { fail, progressBar } from '../output';
import { cifarArchiveAt } from './data-cifar';
import {
  declareTrain,
  resolveFlags,
  schedule,
  type RunFlags,
  type TrainFlags,
} from './train-flags';

/** Registers `convnets train`. */
export function trainCommand(program: Command): void {
  declareTrain(program).action(runTraining);
}

/** The images at `path`: a CIFAR archive's `split`, in memory, or an image folder (with `classes`, when known). */
async function datasetAt(
  path: string,
  split: 'train' | 'test',
  classes?: readonly string[],
): Promise<ImageDataset | PixelDataset> {
  const archive = cifarArchiveAt(path);
  if (!archive) return imageFolder(path, classes ? { classes } : {});
  const images = (await readCifarArchive(archive, [split]))[split]!;
  if (classes && images.classes.join('\n') !== classes.join('\n'))
    fail(`the classes of ${archive} are not those of --data`);
  return images;
}

/** How many images a dataset holds. */
const countOf = (d: ImageDataset | PixelDataset) => ('samples' in d ? d.samples.length : d.count);

/**
 * The training and validation images: `--data` (and `--val`), or `--data`
 * split by `--holdout`. A CIFAR archive gives its training images to `--data`
 * and its test images to `--val`.
 */
async function splitImages(flags: RunFlags) {
  const split = cifarArchiveAt(flags.data) ? { train: flags.data } : splitData(flags.data);
  const all = await datasetAt(split.train, 'train');
  const valDir = flags.val ?? split.val;
  if (flags.holdout === undefined) {
    const valSet = valDir ? await datasetAt(valDir, 'test', all.classes) : undefined;
    return { trainSet: all, valSet };
  }
  if (valDir)
    fail(
      `--holdout takes the validation images out of --data; it cannot be combined with ${flags.val ? '--val' : `the folder ${valDir}`}`,
    );
  if (flags.holdout === 0) fail('--holdout must be a positive integer; received 0');
  const { train, val } = holdOutPerClass(all, flags.holdout);
  return { trainSet: train, valSet: val };
}

/** The per-pixel mean image (0 … 255 scale) of the training images, as the eval transform frames them. */
async function pixelMean(trainSet: ImageDataset | PixelDataset, size: number): Promise<MeanImage> {
  const { image } = await computeMean(trainSet, { transform: cifarEval({ size }) });
  return image;
}

/** The training and validation data of the flags, as the architecture's transforms make them. */
async function trainingData(flags: RunFlags, a: Architecture) {
  const { trainSet, valSet } = await splitImages(flags);
  const size = flags.imageSize ?? a.defaultImageSize;
  const batchSize = flags.batchSize ?? (a.family === 'cifar' ? 128 : 256);
  if (flags.pixelMean && a.family !== 'cifar')
    fail(
      `--pixel-mean applies to CIFAR nets (cifar_resnetN, cifar_plainN); ${flags.arch} is not one`,
    );
  const mean = flags.pixelMean ? await pixelMean(trainSet, size) : undefined;
  const train = { transform: a.trainTransform(size, mean), batchSize, seed: flags.seed ?? 0 };
  const data =
    'samples' in trainSet
      ? folderTrainingData(trainSet, train)
      : arrayTrainingData(trainSet, train);
  const evaluation = {
    transform: a.evalTransform(size, { pixelMean: mean }),
    batchSize: Math.min(batchSize, 100),
  };
  const validation =
    valSet &&
    ('samples' in valSet
      ? folderEvaluationData(valSet, evaluation)
      : arrayEvaluationData(valSet, evaluation));
  const preprocessing = mean && pixelMeanRecord(mean);
  return { trainSet, valSet, size, data, validation, preprocessing };
}

/** The trainer's recipe from the flags: the papers' defaults (VGG's differ), `--resume` and `--overwrite`. */
function recipe(flags: RunFlags, cli: TrainFlags, isVgg: boolean) {
  return {
    epochs: flags.epochs ?? 1,
    steps: flags.steps,
    lr: flags.lr ?? (isVgg ? 0.01 : 0.1),
    schedule: schedule(flags),
    warmup: flags.warmupEpochs ? { epochs: flags.warmupEpochs } : undefined,
    optimizer: {
      momentum: flags.momentum ?? 0.9,
      weightDecay: flags.weightDecay ?? (isVgg ? 5e-4 : 1e-4),
      nesterov: flags.nesterov ?? false,
      rule: flags.momentumRule ?? 'pytorch',
      excludeBatchNorm: flags.excludeBn ?? false,
      excludeBias: flags.excludeBias ?? false,
    },
    accumulate: flags.accumulate ?? 1,
    outDir: flags.out,
    resume: cli.resume ? true : undefined,
    overwrite: Boolean(cli.overwrite),
    seed: flags.seed ?? 0,
    checkpointEvery: flags.checkpointEvery ?? 0,
    keepLast: flags.keep ?? 3,
    preciseBnBatches: flags.preciseBn ?? 0,
    config: { ...flags, resume: undefined, config: undefined, overwrite: undefined },
  } satisfies Partial<TrainerOptions>;
}

/** The progress bar of the steps and the trainer's messages (a line per epoch among them); `log` and `callbacks` go to the trainer. */
function progress() {
  let bar: ReturnType<typeof progressBar> | undefined;
  const callbacks: TrainerOptions['callbacks'] = {
    onStep: (s) => {
      if (!bar) {
        bar = progressBar(
          'train |{bar}| {value}/{total} steps | epoch {epoch} | loss {loss} | lr {lr} | {speed} img/s',
          true,
        );
        bar.start(s.totalSteps, s.step - 1);
      }
      bar.update(s.step, {
        epoch: s.epoch + 1,
        loss: s.loss.toFixed(3),
        lr: s.lr.toPrecision(3),
        speed: s.imagesPerSec.toFixed(0),
      });
    },
  };
  // The trainer's messages: its start, a line per epoch (loss, train and val
  // top-1 error, val top-5 error, images/s), resumes, warnings. The bar
  // stops for each and starts again at the next step.
  const log = (message: string) => {
    bar?.stop();
    bar = undefined;
    console.log(message);
  };
  return { log, callbacks, stop: () => bar?.stop() };
}

/** On the pure-JS `cpu` backend, the convolution filter gradient runs about 20× faster patched (bitwise the same). */
async function speedUpCpu(backend: string): Promise<void> {
  if (backend !== 'cpu') return;
  const { patchCpuKernels } = await import('@convnets/backend-native');
  patchCpuKernels();
}

/** `convnets train`: flags (with --resume and --config), data, model, the run, then curves.png. */
async function runTraining(cli: TrainFlags): Promise<void> {
  const flags = resolveFlags(cli);
  const a = architecture(flags.arch, { channelPadding: flags.channelPadding });
  const options = recipe(flags, cli, a.family === 'vgg'); // flag errors before any data is read
  const backend = await useBackend(flags.backend ?? 'auto', true);
  await speedUpCpu(backend);
  const { trainSet, valSet, size, data, validation, preprocessing } = await trainingData(flags, a);
  // The run's seed also draws the initial weights: the same flags give the same run.
  const model = a.build({
    classes: trainSet.classes.length,
    imageSize: size,
    seed: flags.seed ?? 0,
  });
  console.log(
    `convnets train: ${flags.arch} on ${countOf(trainSet)} images, ${trainSet.classes.length} classes${valSet ? `, validating on ${countOf(valSet)}` : ''}, backend ${backend}`,
  );
  const { log, callbacks, stop } = progress();
  const result = await train({
    model,
    data,
    validation,
    ...options,
    ...(preprocessing ? { checkpointMetadata: { preprocessing } } : {}),
    log,
    callbacks,
    handleSignals: true,
  });
  stop();
  const metrics = join(flags.out, 'metrics.jsonl');
  if (flags.plot !== false && existsSync(metrics))
    await writeCurves(join(flags.out, 'curves.png'), [
      { name: basename(resolve(flags.out)), rows: readMetrics(metrics) },
    ]);
  console.log(
    `${result.status === 'completed' ? 'done' : 'stopped'} at step ${result.steps}; run folder ${flags.out} (checkpoint ${result.checkpoint ?? 'none'})`,
  );
  if (result.status === 'stopped') {
    console.log(`resume with: convnets train --resume ${flags.out}`);
    // 128 + the signal's number, as a shell reports a process the signal ended.
    process.exitCode = result.signal === 'SIGTERM' ? 143 : 130;
  }
}
