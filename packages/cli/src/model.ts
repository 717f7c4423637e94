import type { LayersModel } from '@tensorflow/tfjs-layers';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  readStateDict,
  type LoadWeightsReport,
  type NonFiniteTensor,
  type StateDictFile,
} from '@convnets/layers';
import {
  architectureHash,
  assignWeights,
  CHECKPOINT_FORMAT,
  listCheckpoints,
  readCheckpoint,
  readCheckpointState,
  type Checkpoint,
} from '@convnets/trainer';
import type { MeanImage } from '@convnets/imagenet-data';
import { recordedPixelMean } from './checkpoint-preprocessing';
import { architecture, modelEntry, type Architecture, type Preprocessing } from './architectures';
import { fail, oneLine, warn } from './output';
import { categoryNames, evalResize, weightsSource } from './pretrained';
import {
  checkpointProblems,
  inline,
  nonFiniteTensors,
  nonFiniteWarning,
  stateDictProblems,
} from './weights';

const EXPECTED =
  'expected a weights file (a PyTorch .pth or a .safetensors state dict), a checkpoint folder, a run folder, a weights name of the architecture (e.g. DEFAULT) or an http(s) URL';

/** A model built for `--arch` with `--weights` loaded, and how to feed it. */
export interface LoadedModel {
  model: LayersModel;
  classes: readonly string[];
  size: number;
  preprocessing: Preprocessing;
  /** The per-pixel mean image (0 … 255 scale) a checkpoint trained with `--pixel-mean` records. */
  pixelMean?: MeanImage;
  /** Pretrained weights' evaluation resize at `size` (232 for torchvision's V2 ResNets); undefined: the recipe's. */
  resize?: number;
}

/** How {@link loadModel} sizes the model and names a state dict's classes. */
export interface LoadOptions {
  imageSize?: number;
  preprocess?: Preprocessing;
  /** The class names of a state dict that classifies `count` classes (it holds none). */
  classNames: (count: number) => Promise<readonly string[]>;
}

/** What {@link loadModel}'s helpers share: the architecture (with its name and options), the image size and the weights' path. */
interface Target {
  a: Architecture;
  size: number;
  weights: string;
  fits: string;
  /** The class names of pretrained weights (their categories'), which come before `classNames`. */
  categories?: readonly string[];
}

/** A checkpoint folder, or a run folder (its best, else newest checkpoint). */
async function resolveWeights(path: string): Promise<string> {
  if (existsSync(join(path, 'state.json'))) return path;
  const all = await listCheckpoints(join(path, 'checkpoints'));
  if (all.length === 0)
    fail(
      `${path} holds no checkpoint; expected a weights file (.pth or .safetensors), a checkpoint folder (with state.json) or a run folder`,
    );
  let best: { path: string; top1Error: number } | undefined;
  for (const c of all) {
    const { valTop1Error } = await readCheckpointState(c.path);
    if (valTop1Error !== undefined && (!best || valTop1Error < best.top1Error))
      best = { path: c.path, top1Error: valTop1Error };
  }
  return best?.path ?? all[all.length - 1].path;
}

/** Warns (one line) when loaded weights hold NaN or infinite values. */
function warnNonFinite(source: string, total: number, found: readonly NonFiniteTensor[]): void {
  if (found.length > 0) warn(nonFiniteWarning(source, found, total));
}

/**
 * Reads a state dict (a PyTorch checkpoint or safetensors, told by content);
 * `undefined` means it is a checkpoint's `model.safetensors`, to be read from its folder.
 */
function readWeightsFile(t: Target): { bytes: Uint8Array; file: StateDictFile } | undefined {
  const bytes = new Uint8Array(readFileSync(t.weights));
  let file: StateDictFile;
  try {
    file = readStateDict(bytes);
  } catch (error) {
    fail(`weights ${t.weights}: ${oneLine((error as Error).message)}`);
  }
  if (file.format !== 'safetensors' || file.metadata.format !== CHECKPOINT_FORMAT)
    return { bytes, file };
  // A checkpoint's model.safetensors: its folder holds the class list.
  if (!existsSync(join(dirname(t.weights), 'state.json')))
    fail(
      `weights ${t.weights} come from a checkpoint whose state.json is missing; pass the checkpoint folder`,
    );
  return undefined;
}

/**
 * Builds the model for a PyTorch state dict (torchvision's, or CIFAR ResNets'),
 * after checking every shape against the architecture.
 */
async function loadStateDict(
  t: Target,
  { bytes, file }: { bytes: Uint8Array; file: StateDictFile },
  options: LoadOptions,
): Promise<LoadedModel> {
  const { a, weights } = t;
  const key = a.torchvisionClassifierKey;
  // By the keys the format maps to (a CIFAR ResNet's head may be fc.* or linear.*), with the file's.
  const tensors = new Map(
    [...file.tensors].map(([k, { shape }]) => [a.canonicalKey(k), { shape, key: k }]),
  );
  const classifier = tensors.get(key);
  if (!classifier || classifier.shape.length !== 2)
    fail(
      `weights ${weights} hold no 2-D "${key}" tensor: expected a ${a.stateDictName} state dict for ${a.name} (e.g. written by saveWeights of @convnets/${a.family === 'vgg' ? 'vgg' : 'resnet'})`,
    );
  const count = classifier.shape[0];
  if (count < 1)
    fail(`weights ${weights}: "${key}" has shape [${classifier.shape.join(', ')}]: no classes`);
  // Every shape is checked against the architecture before a model of `count` classes is built.
  const expected = a.expectedWeights({ classes: count, imageSize: t.size });
  const problems = stateDictProblems(tensors, expected, a.torchvisionIgnore);
  if (problems.length > 0) fail(`weights ${weights} do not fit ${t.fits}: ${inline(problems)}`);
  const classes = t.categories ?? (await options.classNames(count));
  const model = a.build({ classes: count, imageSize: t.size });
  let report: LoadWeightsReport;
  try {
    report = await a.loadTorchvisionWeights(model, bytes);
  } catch (error) {
    fail(`weights ${weights}: ${oneLine((error as Error).message)}`);
  }
  warnNonFinite(weights, expected.length, report.nonFinite);
  // PyTorch's weights expect torchvision's normalisation; CIFAR nets keep theirs unless asked.
  const preprocessing = options.preprocess ?? (a.family === 'cifar' ? 'paper' : 'torchvision');
  return { model, classes, size: t.size, preprocessing };
}

/**
 * A CIFAR ResNet checkpoint trained with the other option-A padding has the
 * same weights but computes another function: refused, naming the flag, when
 * the architecture built with the other padding (as training built it, seeded)
 * is the one the checkpoint recorded.
 */
function checkChannelPadding(t: Target, checkpoint: Checkpoint, classes: number): void {
  const saved = checkpoint.state.key?.architecture;
  const current = t.a.channelPadding;
  if (current === undefined || typeof saved !== 'string') return;
  const other = current === 'both' ? 'end' : 'both';
  const probe = architecture(t.a.name, { channelPadding: other }).build({
    classes,
    imageSize: t.size,
    seed: checkpoint.state.seed,
  });
  try {
    if (architectureHash(probe) === saved)
      fail(
        `checkpoint ${checkpoint.path} was trained with --channel-padding ${other}; this evaluation uses ${current}: pass --channel-padding ${other}`,
      );
  } finally {
    probe.dispose();
  }
}

/** Builds the model for a checkpoint folder, after checking its class list and every shape. */
async function loadCheckpoint(t: Target, path: string, options: LoadOptions): Promise<LoadedModel> {
  const checkpoint = await readCheckpoint(path);
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
  const expected = t.a.expectedWeights({ classes: classes.length, imageSize: t.size });
  const problems = checkpointProblems(checkpoint.weights, expected);
  if (problems.length > 0)
    fail(
      `checkpoint ${checkpoint.path} does not fit ${t.fits}: ${inline(problems)}; its state.json lists ${classes.length} classes`,
    );
  checkChannelPadding(t, checkpoint, classes.length);
  const model = t.a.build({ classes: classes.length, imageSize: t.size });
  assignWeights(model, checkpoint.weights, checkpoint.path);
  const named = checkpoint.weights.map((w, i) => ({
    key: expected[i].name,
    weight: expected[i].name,
    data: w.data,
  }));
  warnNonFinite(checkpoint.path, expected.length, nonFiniteTensors(named));
  const pixelMean = recordedPixelMean(checkpoint.state.metadata, t.size, (what) =>
    fail(`checkpoint ${checkpoint.path}: ${what}`),
  );
  return {
    model,
    classes: classes as string[],
    size: t.size,
    preprocessing: options.preprocess ?? 'paper',
    ...(pixelMean ? { pixelMean } : {}),
  };
}

/**
 * Builds architecture `a` and loads `weights`: a checkpoint folder, a run
 * folder (its best checkpoint), a checkpoint's `model.safetensors`, or a
 * PyTorch state dict in a `.pth` or `.safetensors` file (torchvision's own
 * weights, a PyTorch CIFAR ResNet's, or what the model packages'
 * `saveWeights` writes), a weights name of the architecture (`IMAGENET1K_V2`,
 * `DEFAULT`) or an http(s) URL, both downloaded into the cache once (see
 * `weightsSource`). A state dict holds no class names: `classNames(count)`
 * supplies them, but for named weights, whose categories name their classes;
 * named weights also bring their eval `resize`.
 */
export async function loadModel(
  a: Architecture,
  value: string,
  options: LoadOptions,
): Promise<LoadedModel> {
  const size = options.imageSize ?? a.defaultImageSize;
  const { path: weights, pretrained } = await weightsSource(a.name, modelEntry(a.name), value);
  const t: Target = {
    a,
    size,
    weights,
    fits: `${a.name} at image size ${size}`,
    categories: pretrained && categoryNames(pretrained),
  };
  if (!existsSync(weights)) fail(`weights ${weights} do not exist; ${EXPECTED}`);
  const stat = statSync(weights);
  if (!stat.isFile() && !stat.isDirectory())
    fail(`weights ${weights} is not a regular file or a folder; ${EXPECTED}`);
  if (stat.isDirectory()) return loadCheckpoint(t, await resolveWeights(weights), options);
  const stateDict = readWeightsFile(t);
  if (!stateDict) return loadCheckpoint(t, dirname(weights), options);
  const loaded = await loadStateDict(t, stateDict, options);
  return pretrained ? { ...loaded, resize: evalResize(pretrained, size) } : loaded;
}
