import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  readSafetensors,
  summarize,
  type LoadWeightsReport,
  type NonFiniteTensor,
} from '@convnets/layers';
import {
  checkImageFolder,
  decodePredictions,
  imageFolder,
  IMAGENET_WNIDS,
  synthesizeImageFolder,
  transformImage,
} from '@convnets/imagenet-data';
import { selectBackend, missingCudaLibraries, type BackendChoice } from '../backend';
import { folderEvaluationData, folderTrainingData } from '../data/folder';
import {
  assignWeights,
  CHECKPOINT_FORMAT,
  listCheckpoints,
  readCheckpoint,
} from '../run/checkpoint';
import { evaluate, outputsProbabilities } from '../run/evaluate';
import { readMetrics } from '../run/metrics-log';
import { writeCurves } from '../run/charts';
import { existingRun } from '../run/run-folder';
import { train } from '../run/trainer';
import type { ScheduleSpec } from '../optim/schedules';
import { architecture, tenCropRefusal, type Preprocessing } from './architectures';
import { stageTable } from './stages';
import {
  checkpointProblems,
  inline,
  nonFiniteTensors,
  nonFiniteWarning,
  stateDictProblems,
} from './weights';

// libuv's thread pool runs sharp's decodes and is sized once, at its first use,
// from UV_THREADPOOL_SIZE (default 4, too few on a many-core machine). Nothing
// has used it yet while modules load, so size it to the machine here unless the
// user did.
process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, availableParallelism() + 2));
tf.env().set('PROD', true);
const program = new Command();
let verbose = false;

function fail(message: string): never {
  throw new Error(message);
}

/** A one-line warning on stderr; the command goes on. */
function warn(message: string): void {
  process.stderr.write(`convnets: warning: ${message}\n`);
}

/** The `--backend` flag every command that runs a model takes. */
function backendOption() {
  return new Option('--backend <name>', 'tfjs backend').choices([
    'auto',
    'tensorflow',
    'native',
    'wasm',
    'cpu',
  ]);
}

function int(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0)
      fail(`--${name} must be a non-negative integer; received "${value}"`);
    return n;
  };
}

function num(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n)) fail(`--${name} must be a number; received "${value}"`);
    return n;
  };
}

function readConfig(path: string): Record<string, unknown> {
  if (!existsSync(path)) fail(`config file ${path} does not exist`);
  const text = readFileSync(path, 'utf8');
  try {
    const parsed = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      fail('expected a mapping of flag names to values');
    // Accept both kebab-case (as the flags) and camelCase keys.
    return Object.fromEntries(
      Object.entries(parsed as Record<string, unknown>).map(([k, v]) => [
        k.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()),
        v,
      ]),
    );
  } catch (error) {
    fail(`config file ${path} cannot be read: ${(error as Error).message.split('\n')[0]}`);
  }
}

async function useBackend(choice: string, forTraining: boolean): Promise<string> {
  const { name } = await selectBackend(choice as BackendChoice, { forTraining });
  return name;
}

/** A checkpoint folder, or a run folder (its best, else newest checkpoint). */
async function resolveWeights(path: string): Promise<string> {
  if (existsSync(join(path, 'state.json'))) return path;
  const all = await listCheckpoints(join(path, 'checkpoints'));
  if (all.length === 0)
    fail(
      `${path} holds no checkpoint; expected a .safetensors file, a checkpoint folder (with state.json) or a run folder`,
    );
  let best: { path: string; top1: number } | undefined;
  for (const c of all) {
    const file = join(c.path, 'state.json');
    let state: { valTop1?: unknown };
    try {
      state = JSON.parse(readFileSync(file, 'utf8')) as { valTop1?: unknown };
    } catch (error) {
      fail(`checkpoint state ${file} cannot be read as JSON: ${(error as Error).message}`);
    }
    const top1 = state?.valTop1;
    if (typeof top1 === 'number' && (!best || top1 < best.top1)) best = { path: c.path, top1 };
  }
  return best?.path ?? all[all.length - 1].path;
}

/** A multi-line error (e.g. the weight loader's list of problems) as one line. */
function oneLine(message: string): string {
  const [head, ...rest] = message.split('\n').map((l) => l.trim().replace(/^- /, ''));
  const items = rest.filter(Boolean);
  if (items.length === 0) return head;
  const shown = items.slice(0, 3).join('; ');
  return `${head.replace(/:$/, '')}: ${shown}${items.length > 3 ? `; and ${items.length - 3} more` : ''}`;
}

interface LoadedModel {
  model: LayersModel;
  classes: readonly string[];
  size: number;
  preprocessing: Preprocessing;
}

/**
 * Builds `arch` and loads `weights`: a checkpoint folder, a run folder (its
 * best checkpoint), a checkpoint's `model.safetensors`, or a torchvision state
 * dict in a `.safetensors` file (torchvision's own weights, or what the model
 * packages' `saveWeights` writes). A state dict holds no class names:
 * `classNames(count)` supplies them.
 */
async function loadModel(
  arch: string,
  weights: string,
  options: {
    imageSize?: number;
    preprocess?: Preprocessing;
    classNames: (count: number) => Promise<readonly string[]>;
  },
): Promise<LoadedModel> {
  const a = architecture(arch);
  const size = options.imageSize ?? a.defaultImageSize;
  const fits = `${arch} at image size ${size}`;
  if (!existsSync(weights))
    fail(
      `weights ${weights} do not exist; expected a .safetensors file, a checkpoint folder or a run folder`,
    );
  const stat = statSync(weights);
  if (!stat.isFile() && !stat.isDirectory())
    fail(
      `weights ${weights} is not a regular file or a folder; expected a .safetensors file, a checkpoint folder or a run folder`,
    );
  let checkpointPath: string;
  if (stat.isFile()) {
    if (!weights.toLowerCase().endsWith('.safetensors'))
      fail(`weights ${weights}: expected a .safetensors file, a checkpoint folder or a run folder`);
    const bytes = new Uint8Array(readFileSync(weights));
    let file: ReturnType<typeof readSafetensors>;
    try {
      file = readSafetensors(bytes);
    } catch (error) {
      fail(`weights ${weights}: ${(error as Error).message}`);
    }
    if (file.metadata.format === CHECKPOINT_FORMAT) {
      // A checkpoint's model.safetensors: its folder holds the class list.
      if (!existsSync(join(dirname(weights), 'state.json')))
        fail(
          `weights ${weights} come from a checkpoint whose state.json is missing; pass the checkpoint folder`,
        );
      checkpointPath = dirname(weights);
    } else {
      const key = a.torchvisionClassifierKey;
      const classifier = file.tensors.get(key);
      if (!classifier || classifier.shape.length !== 2)
        fail(
          `weights ${weights} hold no 2-D "${key}" tensor: expected a torchvision ${a.family === 'vgg' ? 'VGG' : 'ResNet'} state dict for ${arch} (e.g. written by saveWeights of @convnets/${a.family === 'vgg' ? 'vgg' : 'resnet'})`,
        );
      const count = classifier.shape[0];
      if (count < 1)
        fail(`weights ${weights}: "${key}" has shape [${classifier.shape.join(', ')}]: no classes`);
      // Every shape is checked against the architecture before a model of `count` classes is built.
      const expected = a.expectedWeights({ classes: count, imageSize: size });
      const problems = stateDictProblems(file.tensors, expected, a.torchvisionIgnore);
      if (problems.length > 0) fail(`weights ${weights} do not fit ${fits}: ${inline(problems)}`);
      const classes = await options.classNames(count);
      const model = a.build({ classes: count, imageSize: size });
      let report: LoadWeightsReport;
      try {
        report = await a.loadTorchvisionWeights(model, bytes);
      } catch (error) {
        fail(`weights ${weights}: ${oneLine((error as Error).message)}`);
      }
      warnNonFinite(weights, expected.length, report.nonFinite);
      return { model, classes, size, preprocessing: options.preprocess ?? 'torchvision' };
    }
  } else {
    checkpointPath = await resolveWeights(weights);
  }
  const checkpoint = await readCheckpoint(checkpointPath);
  const classes: unknown = checkpoint.state.key?.classes;
  if (
    !Array.isArray(classes) ||
    classes.length === 0 ||
    !classes.every((c) => typeof c === 'string')
  )
    fail(
      `checkpoint ${checkpoint.path}: key.classes in its state.json is not a non-empty list of class names`,
    );
  // Every shape is checked against the architecture before a model of that many classes is built.
  const expected = a.expectedWeights({ classes: classes.length, imageSize: size });
  const problems = checkpointProblems(checkpoint.weights, expected);
  if (problems.length > 0)
    fail(
      `checkpoint ${checkpoint.path} does not fit ${fits}: ${inline(problems)}; its state.json lists ${classes.length} classes`,
    );
  const model = a.build({ classes: classes.length, imageSize: size });
  assignWeights(model, checkpoint.weights, checkpoint.path);
  warnNonFinite(
    checkpoint.path,
    expected.length,
    nonFiniteTensors(
      checkpoint.weights.map((w, i) => ({
        key: expected[i].name,
        weight: expected[i].name,
        data: w.data,
      })),
    ),
  );
  return {
    model,
    classes: classes as string[],
    size,
    preprocessing: options.preprocess ?? 'paper',
  };
}

/** Warns (one line) when loaded weights hold NaN or infinite values. */
function warnNonFinite(source: string, total: number, found: readonly NonFiniteTensor[]): void {
  if (found.length > 0) warn(nonFiniteWarning(source, found, total));
}

/** `--classes`: a comma-separated list, or a text file with one name per line. */
function classList(value: string): string[] {
  const names =
    existsSync(value) && statSync(value).isFile()
      ? readFileSync(value, 'utf8').split('\n')
      : value.split(',');
  return names.map((n) => n.trim()).filter(Boolean);
}

/** The `--preprocess` flag of eval and predict. */
function preprocessOption() {
  return new Option(
    '--preprocess <kind>',
    'image normalisation: paper (mean subtraction, as convnets train) or torchvision ((x/255 - mean)/std); default paper for checkpoints, torchvision for .safetensors',
  ).choices(['paper', 'torchvision']);
}

function splitData(root: string): { train: string; val?: string } {
  if (!existsSync(root)) fail(`data folder ${root} does not exist`);
  if (existsSync(join(root, 'train')) && statSync(join(root, 'train')).isDirectory())
    return {
      train: join(root, 'train'),
      val:
        existsSync(join(root, 'val')) && statSync(join(root, 'val')).isDirectory()
          ? join(root, 'val')
          : undefined,
    };
  return { train: root };
}

interface TrainFlags {
  arch?: string;
  data?: string;
  val?: string;
  epochs?: number;
  steps?: number;
  batchSize?: number;
  accumulate?: number;
  lr?: number;
  schedule?: string;
  milestones?: string | number[];
  milestoneUnit?: 'epoch' | 'iteration';
  every?: number;
  gamma?: number;
  patience?: number;
  warmupEpochs?: number;
  momentum?: number;
  momentumRule?: 'pytorch' | 'caffe';
  nesterov?: boolean;
  weightDecay?: number;
  excludeBn?: boolean;
  excludeBias?: boolean;
  seed?: number;
  out?: string;
  resume?: string;
  overwrite?: boolean;
  backend?: string;
  imageSize?: number;
  checkpointEvery?: number;
  keep?: number;
  preciseBn?: number;
  config?: string;
  plot?: boolean;
}

function schedule(flags: TrainFlags): ScheduleSpec {
  const kind = flags.schedule ?? 'constant';
  const milestones =
    typeof flags.milestones === 'string'
      ? flags.milestones.split(',').map((m) => Number(m.trim()))
      : flags.milestones;
  switch (kind) {
    case 'constant':
      return { kind };
    case 'step':
      if (flags.every === undefined)
        fail(
          '--schedule step needs --every, e.g. --every 30 (epochs; iterations with --milestone-unit iteration)',
        );
      return { kind, every: flags.every, gamma: flags.gamma, unit: flags.milestoneUnit };
    case 'multistep':
      if (!milestones)
        fail(
          '--schedule multistep needs --milestones, e.g. --milestones 32000,48000 --milestone-unit iteration',
        );
      return { kind, milestones, gamma: flags.gamma, unit: flags.milestoneUnit };
    case 'plateau':
      return { kind, patience: flags.patience, factor: flags.gamma };
    case 'cosine':
      return { kind };
    default:
      fail(
        `--schedule must be one of constant, step, multistep, plateau, cosine; received "${kind}"`,
      );
  }
}

async function trainCommand(cli: TrainFlags): Promise<void> {
  let flags: TrainFlags = {};
  if (cli.resume) {
    const runJson = join(cli.resume, 'run.json');
    if (!existsSync(runJson)) fail(`--resume ${cli.resume}: not a run folder (no run.json)`);
    let run: { config?: TrainFlags };
    try {
      run = JSON.parse(readFileSync(runJson, 'utf8')) as { config?: TrainFlags };
    } catch (error) {
      fail(`--resume ${cli.resume}: ${runJson} is not valid JSON (${(error as Error).message})`);
    }
    flags = { ...(run.config ?? {}) };
  }
  if (cli.config) flags = { ...flags, ...(readConfig(cli.config) as TrainFlags) };
  flags = {
    ...flags,
    ...Object.fromEntries(Object.entries(cli).filter(([, v]) => v !== undefined)),
  };
  if (cli.resume) flags.out = cli.resume;
  if (!flags.arch) fail('train needs --arch (e.g. --arch cifar-resnet20)');
  if (!flags.data) fail('train needs --data <image folder>');
  if (!flags.out) fail('train needs --out <run folder> (or --resume <run folder>)');
  const found = cli.resume || cli.overwrite ? [] : existingRun(flags.out);
  if (found.length > 0)
    fail(
      `--out ${flags.out} already holds a run (${found.join(', ')}); nothing was changed. Continue it with --resume ${flags.out}, choose another --out, or pass --overwrite to replace it`,
    );
  const a = architecture(flags.arch);
  const lrSchedule = schedule(flags); // flag errors before any data is read
  const backend = await useBackend(flags.backend ?? 'auto', true);
  const split = splitData(flags.data);
  const trainSet = await imageFolder(split.train);
  const valDir = flags.val ?? split.val;
  const valSet = valDir ? await imageFolder(valDir, { classes: trainSet.classes }) : undefined;
  const size = flags.imageSize ?? a.defaultImageSize;
  const model = a.build({ classes: trainSet.classes.length, imageSize: size });
  const batchSize = flags.batchSize ?? (a.family === 'cifar' ? 128 : 256);
  const data = folderTrainingData(trainSet, {
    transform: a.trainTransform(size),
    batchSize,
    seed: flags.seed ?? 0,
  });
  const validation = valSet
    ? folderEvaluationData(valSet, {
        transform: a.evalTransform(size),
        batchSize: Math.min(batchSize, 100),
      })
    : undefined;
  const isVgg = a.family === 'vgg';
  const config: TrainFlags = {
    ...flags,
    resume: undefined,
    config: undefined,
    overwrite: undefined,
  };
  console.log(
    `convnets train: ${flags.arch} on ${trainSet.samples.length} images, ${trainSet.classes.length} classes, backend ${backend}`,
  );
  let bar: cliProgress.SingleBar | undefined;
  const result = await train({
    model,
    data,
    validation,
    epochs: flags.epochs ?? 1,
    steps: flags.steps,
    lr: flags.lr ?? (isVgg ? 0.01 : 0.1),
    schedule: lrSchedule,
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
    config: config as Record<string, unknown>,
    log: (m) => {
      bar?.stop();
      console.log(m);
    },
    callbacks: {
      onStep: (s) => {
        if (!bar) {
          bar = new cliProgress.SingleBar(
            {
              format:
                'train |{bar}| {value}/{total} steps | epoch {epoch} | loss {loss} | lr {lr} | {speed} img/s',
              hideCursor: true,
            },
            cliProgress.Presets.shades_classic,
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
      onEpoch: (e) => {
        bar?.stop();
        bar = undefined;
        const val = e.validation
          ? `, val top-1/top-5 error ${e.validation.top1.toFixed(2)}% / ${e.validation.top5.toFixed(2)}%`
          : '';
        console.log(
          `epoch ${e.epoch + 1}: loss ${e.loss.toFixed(4)}, train top-1 error ${e.trainTop1.toFixed(2)}%${val}`,
        );
      },
    },
  });
  bar?.stop();
  if (flags.plot !== false && existsSync(join(flags.out, 'metrics.jsonl'))) {
    await writeCurves(join(flags.out, 'curves.png'), [
      { name: basename(resolve(flags.out)), rows: readMetrics(join(flags.out, 'metrics.jsonl')) },
    ]);
  }
  console.log(
    `${result.status === 'completed' ? 'done' : 'stopped'} at step ${result.steps}; run folder ${flags.out} (checkpoint ${result.checkpoint ?? 'none'})`,
  );
  if (result.status === 'stopped') {
    console.log(`resume with: convnets train --resume ${flags.out}`);
    // 128 + the signal's number, as a shell reports a process the signal ended.
    process.exitCode = result.signal === 'SIGTERM' ? 143 : 130;
  }
}

program
  .name('convnets')
  .description('Train, evaluate and inspect VGG and ResNet networks with TensorFlow.js.')
  .option('--verbose', 'print stack traces on errors')
  .hook('preAction', (cmd) => {
    verbose = Boolean(cmd.opts().verbose);
  });

program
  .command('train')
  .description(
    'train a network on an image folder (root/<class>/<image>, or root/train and root/val)',
  )
  .option(
    '--arch <name>',
    'architecture: resnet18…152, plain18…152, vgg11…vgg19[-bn], cifar-resnetN, cifar-plainN',
  )
  .option('--data <dir>', 'training images (root/<class>/…), or a folder holding train/ and val/')
  .option('--val <dir>', 'validation images (default: <data>/val when it exists)')
  .option('--epochs <n>', 'epochs (default 1)', int('epochs'))
  .option('--steps <n>', 'stop after this many updates instead', int('steps'))
  .option(
    '--batch-size <n>',
    'images per (micro-)batch (default 128 CIFAR, 256 ImageNet)',
    int('batch-size'),
  )
  .option(
    '--accumulate <n>',
    'micro-batches per update (effective batch = batch size × this)',
    int('accumulate'),
  )
  .option('--lr <rate>', 'base learning rate (default 0.1; VGG 0.01)', num('lr'))
  .addOption(
    new Option('--schedule <kind>', 'learning-rate schedule').choices([
      'constant',
      'step',
      'multistep',
      'plateau',
      'cosine',
    ]),
  )
  .option('--milestones <list>', 'multistep milestones, comma-separated (e.g. 32000,48000)')
  .addOption(
    new Option('--milestone-unit <unit>', 'milestones count epochs or iterations').choices([
      'epoch',
      'iteration',
    ]),
  )
  .option('--every <n>', 'step schedule: interval', int('every'))
  .option('--gamma <factor>', 'schedule factor (default 0.1)', num('gamma'))
  .option('--patience <epochs>', 'plateau schedule: epochs without improvement', int('patience'))
  .option('--warmup-epochs <n>', 'linear warm-up length', num('warmup-epochs'))
  .option('--momentum <m>', 'momentum (default 0.9)', num('momentum'))
  .addOption(
    new Option(
      '--momentum-rule <rule>',
      'momentum rule (default pytorch; caffe as in the original ResNet code)',
    ).choices(['pytorch', 'caffe']),
  )
  .option('--nesterov', 'Nesterov momentum')
  .option('--weight-decay <l2>', 'weight decay (default 1e-4; VGG 5e-4)', num('weight-decay'))
  .option('--exclude-bn', 'no weight decay on BN parameters')
  .option('--exclude-bias', 'no weight decay on biases')
  .option('--seed <n>', 'seed of shuffling, augmentation and dropout (default 0)', int('seed'))
  .option('--out <dir>', 'run folder (metrics.jsonl, metrics.csv, checkpoints/, curves.png)')
  .option(
    '--resume <dir>',
    'continue the run in this folder from its newest checkpoint (its flags are reused; flags given override)',
  )
  .option(
    '--overwrite',
    'start from scratch even if --out holds a run (its run.json, metrics, checkpoints and curves are deleted)',
  )
  .addOption(backendOption())
  .option('--image-size <px>', 'input size (default 32 CIFAR, 224 ImageNet)', int('image-size'))
  .option(
    '--checkpoint-every <steps>',
    'also checkpoint every this many updates',
    int('checkpoint-every'),
  )
  .option('--keep <n>', 'checkpoints kept besides the best (default 3)', int('keep'))
  .option(
    '--precise-bn <batches>',
    'recompute BN statistics over this many batches before validation',
    int('precise-bn'),
  )
  .option('--config <file>', 'JSON or YAML file of flags (flags given on the command line win)')
  .option('--no-plot', 'do not draw curves.png at the end')
  .action(trainCommand);

program
  .command('eval')
  .description('top-1/top-5 error of a checkpoint or a .safetensors state dict on an image folder')
  .requiredOption('--arch <name>', 'architecture')
  .requiredOption(
    '--weights <path>',
    'checkpoint folder, run folder (its best checkpoint), or .safetensors file (torchvision state dict)',
  )
  .requiredOption('--data <dir>', 'images (root/<class>/…, or a folder holding val/)')
  .option('--ten-crop', '10-crop testing (ImageNet architectures)')
  .option('--batch-size <n>', 'images per batch (default 32)', int('batch-size'))
  .option('--image-size <px>', 'input size', int('image-size'))
  .addOption(preprocessOption())
  .addOption(backendOption().default('auto'))
  .option('--json', 'print one JSON document')
  .action(
    async (o: {
      arch: string;
      weights: string;
      data: string;
      tenCrop?: boolean;
      batchSize?: number;
      imageSize?: number;
      preprocess?: Preprocessing;
      backend: string;
      json?: boolean;
    }) => {
      const refusal = o.tenCrop ? tenCropRefusal(architecture(o.arch)) : undefined;
      if (refusal) fail(refusal);
      await useBackend(o.backend, false);
      const dataDir = splitData(o.data).val ?? o.data;
      const { model, classes, size, preprocessing } = await loadModel(o.arch, o.weights, {
        imageSize: o.imageSize,
        preprocess: o.preprocess,
        // A state dict's classes are the data folder's, sorted (as torchvision's ImageFolder).
        classNames: async (count) => {
          const found = (await imageFolder(dataDir)).classes;
          if (found.length !== count)
            fail(
              `weights ${o.weights} classify ${count} classes but ${dataDir} has ${found.length} class folders`,
            );
          return found;
        },
      });
      const dataset = await imageFolder(dataDir, { classes });
      const transform = architecture(o.arch).evalTransform(size, o.tenCrop, preprocessing);
      const bar = o.json
        ? undefined
        : new cliProgress.SingleBar(
            { format: 'eval |{bar}| {value}/{total} images' },
            cliProgress.Presets.shades_classic,
          );
      bar?.start(dataset.samples.length, 0);
      let seen = 0;
      const data = folderEvaluationData(dataset, { transform, batchSize: o.batchSize ?? 32 });
      const result = await evaluate(model, {
        ...data,
        batches: async function* () {
          for await (const b of data.batches()) {
            seen += b.labels.shape[0];
            bar?.update(seen);
            yield b;
          }
        },
      });
      bar?.stop();
      const report = {
        arch: o.arch,
        weights: o.weights,
        data: o.data,
        crops: transform.views,
        preprocessing: architecture(o.arch).family === 'cifar' ? 'cifar' : preprocessing,
        ...result,
      };
      if (o.json) console.log(JSON.stringify(report));
      else
        console.log(
          `top-1 error ${result.top1.toFixed(2)}%, top-5 error ${result.top5.toFixed(2)}% on ${result.images} images (${transform.views === 10 ? '10-crop' : 'centre crop'})`,
        );
    },
  );

program
  .command('predict')
  .description('top-5 classes of images')
  .requiredOption('--arch <name>', 'architecture')
  .requiredOption(
    '--weights <path>',
    'checkpoint folder, run folder, or .safetensors file (torchvision state dict)',
  )
  .argument('<images...>', 'image files')
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
  .addOption(preprocessOption())
  .addOption(backendOption().default('auto'))
  .option('--json', 'print one JSON document')
  .action(
    async (
      images: string[],
      o: {
        arch: string;
        weights: string;
        top?: number;
        classes?: string;
        imageSize?: number;
        preprocess?: Preprocessing;
        backend: string;
        json?: boolean;
      },
    ) => {
      // Only regular files are read: a folder or a FIFO named *.jpg is refused, by name.
      for (const image of images) {
        if (!existsSync(image)) fail(`image ${image} does not exist`);
        const stat = statSync(image);
        if (stat.isDirectory()) fail(`image ${image} is a directory; expected an image file`);
        if (!stat.isFile())
          fail(
            `image ${image} is not a regular file (a FIFO, socket or device); expected an image file`,
          );
      }
      await useBackend(o.backend, false);
      let stateDict = false;
      const { model, classes, size, preprocessing } = await loadModel(o.arch, o.weights, {
        imageSize: o.imageSize,
        preprocess: o.preprocess,
        classNames: async (count) => {
          stateDict = true;
          if (o.classes !== undefined) {
            const names = classList(o.classes);
            if (names.length !== count)
              fail(
                `--classes names ${names.length} classes but weights ${o.weights} classify ${count}`,
              );
            return names;
          }
          if (count === IMAGENET_WNIDS.length) return IMAGENET_WNIDS;
          return Array.from({ length: count }, (_, i) => String(i));
        },
      });
      if (o.classes !== undefined && !stateDict)
        fail(
          `--classes is for .safetensors state dicts; the checkpoint ${o.weights} has its own class list`,
        );
      const transform = architecture(o.arch).evalTransform(size, false, preprocessing);
      const k = Math.min(o.top ?? 5, classes.length);
      if (o.top !== undefined && o.top > classes.length)
        process.stderr.write(
          `convnets: note: --top ${o.top} is more than the ${classes.length} classes; showing ${classes.length}\n`,
        );
      const imagenet = classes.length === 1000 && classes.every((c, i) => c === IMAGENET_WNIDS[i]);
      const out: { image: string; top: { class: string; name: string; probability: number }[] }[] =
        [];
      for (const image of images) {
        let view: Awaited<ReturnType<typeof transformImage>>[number];
        try {
          [view] = await transformImage(image, transform);
        } catch (error) {
          const message = oneLine((error as Error).message);
          fail(message.includes(image) ? message : `image ${image}: ${message}`);
        }
        const p = tf.tidy(() => {
          const y = model.predict(
            tf.tensor4d(view.data, [1, view.height, view.width, 3]),
          ) as tf.Tensor2D;
          return (outputsProbabilities(model) ? y : tf.softmax(y)).dataSync();
        });
        const top = imagenet
          ? decodePredictions(p, k).map((r) => ({
              class: r.wnid,
              name: r.name,
              probability: r.probability,
            }))
          : [...p.keys()]
              .sort((x, y) => p[y] - p[x])
              .slice(0, k)
              .map((c) => ({ class: classes[c], name: classes[c], probability: p[c] }));
        out.push({ image, top });
      }
      if (o.json) console.log(JSON.stringify(out));
      else
        for (const r of out)
          console.log(
            `${r.image}: ${r.top.map((t) => `${t.name} ${(100 * t.probability).toFixed(1)}%`).join(', ')}`,
          );
    },
  );

program
  .command('summary')
  .description(
    "an architecture's stages, output sizes, parameters and multiply-adds (the paper's Table 1 row)",
  )
  .argument('<arch>', 'architecture')
  .option('--classes <n>', 'classes (default 1000; CIFAR 10)', int('classes'))
  .option('--image-size <px>', 'input size', int('image-size'))
  .option('--layers', 'also list every layer')
  .option('--json', 'print one JSON document')
  .action(
    async (
      arch: string,
      o: { classes?: number; imageSize?: number; layers?: boolean; json?: boolean },
    ) => {
      const a = architecture(arch);
      await useBackend('cpu', false); // building a model needs a backend; nothing runs
      const model = a.build({
        classes: o.classes ?? (a.family === 'cifar' ? 10 : 1000),
        imageSize: o.imageSize,
      });
      const s = summarize(model, { skipParameterFree: true });
      const stages = stageTable(s);
      if (o.json) {
        console.log(
          JSON.stringify({
            arch,
            trainableParams: s.trainableParams,
            nonTrainableParams: s.nonTrainableParams,
            multiplyAdds: s.multiplyAdds,
            stages,
            ...(o.layers ? { layers: s.layers } : {}),
          }),
        );
        return;
      }
      console.log(
        `${arch}: ${s.trainableParams.toLocaleString('en-US')} parameters, ${s.multiplyAdds.toLocaleString('en-US')} multiply-adds (${(s.multiplyAdds / 1e9).toFixed(2)}×10^9)`,
      );
      for (const st of stages)
        console.log(
          `  ${st.stage.padEnd(12)} ${st.outputSize.padEnd(10)} ${String(st.layers).padStart(3)} layers  ${st.params.toLocaleString('en-US').padStart(13)} params  ${st.multiplyAdds.toLocaleString('en-US').padStart(16)} mult-adds`,
        );
      if (o.layers) console.log(s.toTable());
    },
  );

const data = program.command('data').description('synthesise or check image folders');
data
  .command('synth')
  .description('write a small learnable image folder (dir/train, dir/val)')
  .argument('<dir>', 'output folder')
  .option('--classes <n>', 'classes (default 10)', int('classes'))
  .option('--per-class <n>', 'training images per class (default 20)', int('per-class'))
  .option('--val-per-class <n>', 'validation images per class', int('val-per-class'))
  .option('--size <px>', 'image side (default 64)', int('size'))
  .option('--seed <n>', 'seed (default 0)', int('seed'))
  .action(
    async (
      dir: string,
      o: {
        classes?: number;
        perClass?: number;
        valPerClass?: number;
        size?: number;
        seed?: number;
      },
    ) => {
      const options = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
      const r = await synthesizeImageFolder(dir, options);
      console.log(`wrote ${r.classes.length} classes to ${r.train} and ${r.val}`);
    },
  );
data
  .command('check')
  .description('count images per class and find unreadable or mislabelled files')
  .argument(
    '<dir>',
    'image folder (root/<class>/…), or a folder holding train/ and val/ (each is checked)',
  )
  .option('--headers-only', 'read headers only (fast; misses truncated files)')
  .option(
    '--json',
    'print one JSON document (for train/ and val/, each split\'s report is in "splits")',
  )
  .action(async (dir: string, o: { headersOnly?: boolean; json?: boolean }) => {
    if (!existsSync(dir)) fail(`image folder ${dir} does not exist`);
    if (!statSync(dir).isDirectory()) fail(`image folder ${dir} is not a folder`);
    // A root holding train/ (and val/), the layout `train --data` takes, is checked split by split.
    const r = await checkImageFolder(dir, { fullDecode: !o.headersOnly });
    if (o.json) {
      console.log(JSON.stringify(r));
    } else {
      for (const report of r.splits ? [r.splits.train, r.splits.val] : [r]) {
        if (!report) continue;
        console.log(
          `${report.root}: ${report.images} images in ${report.classes.length} classes; formats ${JSON.stringify(report.formats)}`,
        );
        for (const c of report.emptyClasses) console.log(`  empty class: ${c}`);
        for (const m of report.mislabelledFormats)
          console.log(`  mislabelled: ${m.path} is ${m.format}`);
        for (const u of report.unreadable) console.log(`  unreadable: ${u.path}: ${u.reason}`);
      }
    }
    if (r.unreadable.length > 0) process.exitCode = 2;
  });

program
  .command('doctor')
  .description('report backends, GPU libraries, sharp and versions')
  .option('--json', 'print one JSON document')
  .action(async (o: { json?: boolean }) => {
    const version = (name: string) => {
      try {
        return JSON.parse(readFileSync(resolvePackage(name), 'utf8')).version as string;
      } catch {
        return null;
      }
    };
    const selection = await selectBackend('auto', { forTraining: true }).catch((e: Error) => ({
      name: null,
      attempts: [],
      error: e.message,
    }));
    let sharpVersions: unknown;
    try {
      sharpVersions = (await import('sharp')).default.versions;
    } catch {
      sharpVersions = null;
    }
    const report = {
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      tfjs: version('@tensorflow/tfjs-core'),
      backend: selection.name,
      backends: selection.attempts,
      cudaLibrariesMissing: missingCudaLibraries(),
      sharp: sharpVersions,
      packages: Object.fromEntries(
        [
          '@convnets/trainer',
          '@convnets/layers',
          '@convnets/resnet',
          '@convnets/vgg',
          '@convnets/imagenet-data',
        ].map((p) => [p, version(p)]),
      ),
    };
    if (o.json) {
      console.log(JSON.stringify(report));
      return;
    }
    console.log(`node ${report.node} (${report.platform}), tfjs ${report.tfjs}`);
    console.log(`backend for training: ${report.backend}`);
    for (const a of report.backends)
      console.log(`  ${a.ok ? 'ok ' : ' - '} ${a.candidate}: ${a.detail}`);
    console.log(
      report.cudaLibrariesMissing.length === 0
        ? 'CUDA/cuDNN: all libraries found'
        : `CUDA/cuDNN missing: ${report.cudaLibrariesMissing.join(', ')} (tfjs-node-gpu needs CUDA 11.2 and cuDNN 8.1 where the dynamic loader finds them: LD_LIBRARY_PATH or /etc/ld.so.conf)`,
    );
    console.log(`sharp: ${sharpVersions ? JSON.stringify(sharpVersions) : 'not available'}`);
    for (const [p, v] of Object.entries(report.packages)) console.log(`${p} ${v ?? 'not found'}`);
  });

program
  .command('plot')
  .description(
    "draw several runs' top-1 error curves on one chart (as the ResNet paper's Figure 4)",
  )
  .argument('<runs...>', 'run folders')
  .requiredOption('--out <file>', 'chart file (.png or .svg)')
  .action(async (runs: string[], o: { out: string }) => {
    const format = extname(o.out).toLowerCase();
    if (format !== '.png' && format !== '.svg')
      fail(
        `--out ${o.out}: the extension chooses the chart's format, .png or .svg; received ${format ? `"${format}"` : 'none'}`,
      );
    const series = runs.map((r) => {
      const file = join(r, 'metrics.jsonl');
      if (!existsSync(file)) fail(`${r} is not a run folder (no metrics.jsonl)`);
      return { name: basename(resolve(r)), rows: readMetrics(file) };
    });
    await writeCurves(o.out, series);
    console.log(`wrote ${o.out}`);
  });

function resolvePackage(name: string): string {
  // Walk up from this file looking for node_modules/<name>/package.json.
  let dir = resolve(new URL('.', import.meta.url).pathname);
  for (;;) {
    const candidate = join(dir, 'node_modules', name, 'package.json');
    if (existsSync(candidate)) return candidate;
    const parent = resolve(dir, '..');
    if (parent === dir) throw new Error(`${name} not found`);
    dir = parent;
  }
}

program.exitOverride();
program.configureOutput({ writeErr: (s) => process.stderr.write(s) });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  const e = error as Error & { code?: string; exitCode?: number };
  if (e.code?.startsWith('commander.')) {
    // commander already printed its one-line message (or the help).
    process.exitCode = e.exitCode ?? 1;
  } else {
    process.stderr.write(`convnets: ${oneLine(String(e?.message ?? e))}\n`);
    if (verbose || process.argv.includes('--verbose')) process.stderr.write(`${e.stack}\n`);
    process.exitCode = 1;
  }
}
