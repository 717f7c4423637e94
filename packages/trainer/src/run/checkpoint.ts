import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { readSafetensors, toFloat32, writeSafetensors, type Float32Entry } from '@convnets/layers';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { DataPosition } from '../data/types';
import type { ScheduleState } from '../optim/schedules';
import { fsyncDirectory, writeFileDurably } from './files';
import type { ResumeKey } from './resume-key';

export {
  architectureHash,
  compareResumeKeys,
  ResumeMismatchError,
  type ResumeKey,
} from './resume-key';

/** Format tag of {@link CheckpointState}. */
export const CHECKPOINT_FORMAT = 'convnets-checkpoint-v1';

/** Running sums of the epoch in progress, kept in checkpoints so that a resumed run's epoch figures cover the whole epoch. */
export interface EpochTotals {
  /** Updates done in the epoch. */
  readonly updates: number;
  /** Training images those updates saw. */
  readonly images: number;
  /** Sum of the updates' losses. */
  readonly lossSum: number;
  /** Images whose label scored highest. */
  readonly correct1: number;
  /** Images whose label was among the five highest scores. */
  readonly correct5: number;
  /** Seconds the epoch has run. */
  readonly seconds: number;
}

/** The `state.json` of a checkpoint: everything but the tensors. */
export interface CheckpointState {
  /** Always {@link CHECKPOINT_FORMAT}. */
  readonly format: string;
  /** Optimizer updates done. */
  readonly step: number;
  /** Epochs completed. */
  readonly epoch: number;
  /** Where the training data continues. */
  readonly data: DataPosition;
  /** The learning-rate schedule's state. */
  readonly schedule: ScheduleState;
  /** The run's seed (all randomness is a function of the seed and the position). */
  readonly seed: number;
  /** What a resumed run must match. */
  readonly key: ResumeKey;
  /**
   * Validation top-1 error (%) at this checkpoint, when it was taken after a validation.
   * @defaultValue absent: no validation ran right before this checkpoint
   */
  readonly valTop1Error?: number;
  /**
   * The best validation result so far.
   * @defaultValue absent: no validation has run yet
   */
  readonly best?: {
    /** Its top-1 error (%). */
    readonly top1Error: number;
    /** The step it was measured after. */
    readonly step: number;
  };
  /**
   * The running sums of the epoch in progress (zero at an epoch end).
   * @defaultValue absent in older checkpoints (a resumed epoch's figures then restart)
   */
  readonly epochTotals?: EpochTotals;
  /**
   * The run's `checkpointMetadata` (e.g. how inputs are preprocessed).
   * @defaultValue absent: the run gave none
   */
  readonly metadata?: Readonly<Record<string, unknown>>;
  /** Names of the optimizer's slot entries, by trainable-weight index. */
  readonly slots: readonly string[];
  /** When it was written (ISO 8601). */
  readonly time: string;
}

/** A checkpoint read from disk. */
export interface Checkpoint {
  /** Its folder. */
  readonly path: string;
  /** The state. */
  readonly state: CheckpointState;
  /** Every model weight (trainable and BN statistics), in `model.weights` order. */
  readonly weights: readonly Float32Entry[];
  /** Momentum buffers, by trainable-weight index. */
  readonly slots: ReadonlyMap<number, Float32Entry>;
}

/**
 * The folder name of a checkpoint, `step-` and eight digits (so names sort by step).
 *
 * @param step - Updates done.
 * @returns `step-` followed by the step, zero-padded to eight digits (longer steps are not cut).
 * @example
 * ```ts
 * checkpointName(1200); // 'step-00001200'
 * ```
 */
export function checkpointName(step: number): string {
  return `step-${String(step).padStart(8, '0')}`;
}

/** Tensors to write into a checkpoint. */
export interface CheckpointTensors {
  /** Every model weight, in `model.weights` order, with its name. */
  readonly weights: readonly {
    /** The weight's name. */
    name: string;
    /** Its value. */
    tensor: tf.Tensor;
  }[];
  /** Momentum buffers by trainable-weight index. */
  readonly slots: readonly {
    /** Index of the trainable weight. */
    index: number;
    /** The optimizer's name for it. */
    name: string;
    /** The buffer. */
    tensor: tf.Tensor;
  }[];
}

/**
 * Raised instead of checkpointing weights that hold NaN or ±Infinity (the
 * previous checkpoint stays the newest).
 *
 * @example
 * ```ts
 * try {
 *   await train({ model, data, steps: 1000, lr: 10, outDir: 'runs/too-fast' });
 * } catch (error) {
 *   if (error instanceof NonFiniteWeightsError) console.error(`diverged at step ${error.step}: ${error.names[0]}`);
 *   else throw error;
 * }
 * ```
 */
export class NonFiniteWeightsError extends Error {
  /** Names of the weights holding non-finite values. */
  readonly names: readonly string[];
  /** The step that would have been checkpointed. */
  readonly step: number;
  /** The learning rate of the last update, when the caller knows it. */
  readonly lr: number | undefined;
  /**
   * Creates the error; its message names the step, the first three weights
   * and, when known, the learning rate with advice.
   *
   * @param names - Names of the non-finite weights.
   * @param step - The step that would have been checkpointed.
   * @param lr - The learning rate of the last update, named in the message when given; default: undefined (not named).
   */
  constructor(names: readonly string[], step: number, lr?: number) {
    super(
      `refusing to checkpoint step ${step}${lr === undefined ? '' : ` (learning rate ${lr})`}: weights ${names.slice(0, 3).join(', ')}${names.length > 3 ? ` and ${names.length - 3} more` : ''} hold NaN or Infinity.${lr === undefined ? '' : ' Lower the learning rate or add a warm-up.'}`,
    );
    this.name = 'NonFiniteWeightsError';
    this.names = [...names];
    this.step = step;
    this.lr = lr;
  }
}

function entry(tensor: tf.Tensor): Float32Entry {
  return {
    shape: tensor.shape.slice(),
    data: Float32Array.from(tensor.dataSync() as Float32Array),
  };
}

/** Test hooks of {@link writeCheckpoint}, awaited at the moments a crash is most harmful. */
export interface CheckpointHooks {
  /**
   * After everything is flushed, before the folder is renamed into place.
   * @defaultValue none
   */
  beforeRename?: () => Promise<void>;
  /**
   * When the same step is written again: after the old folder is moved aside, before the new one takes its place.
   * @defaultValue none
   */
  betweenRenames?: () => Promise<void>;
}

/**
 * Finishes same-step swaps that a crash interrupted between their two renames
 * (`step-N` moved aside as `.tmp-step-N-…-old`, the new `.tmp-step-N-…` not yet
 * renamed): the new folder, complete by then, becomes `step-N` (the old one if
 * the new one is not complete), and the old one is deleted. Errors (e.g. a
 * read-only folder) are ignored: listing still works.
 */
async function recoverSwaps(dir: string): Promise<void> {
  try {
    for (const name of await readdir(dir)) {
      const m = /^\.tmp-(step-\d+)-.+-old$/.exec(name);
      if (!m) continue;
      const aside = join(dir, name);
      const final = join(dir, m[1]);
      if (!(await isComplete(final))) {
        const fresh = aside.slice(0, -'-old'.length);
        await rm(final, { recursive: true, force: true });
        await rename((await isComplete(fresh)) ? fresh : aside, final);
        fsyncDirectory(dir);
      }
      await rm(aside, { recursive: true, force: true });
    }
  } catch {
    // Recovery is best effort; what is complete stays listed.
  }
}

async function isComplete(path: string): Promise<boolean> {
  try {
    await readFile(join(path, 'state.json'));
    return true;
  } catch {
    return false;
  }
}

/** Writes a checkpoint's three files into `folder`, state.json last, and syncs the folder. */
function writeCheckpointFiles(
  folder: string,
  state: Omit<CheckpointState, 'format' | 'time' | 'slots'>,
  tensors: CheckpointTensors,
): void {
  const weights = new Map<string, Float32Entry>();
  tensors.weights.forEach(({ name, tensor }, i) => weights.set(`${i}:${name}`, entry(tensor)));
  writeFileDurably(
    join(folder, 'model.safetensors'),
    writeSafetensors(weights, { format: CHECKPOINT_FORMAT }),
  );
  const slots = new Map<string, Float32Entry>();
  for (const { index, name, tensor } of tensors.slots) slots.set(`${index}:${name}`, entry(tensor));
  writeFileDurably(
    join(folder, 'optimizer.safetensors'),
    writeSafetensors(slots, { format: CHECKPOINT_FORMAT }),
  );
  const full: CheckpointState = {
    format: CHECKPOINT_FORMAT,
    ...state,
    slots: [...slots.keys()],
    time: new Date().toISOString(),
  };
  // state.json last: a folder holding it is complete.
  writeFileDurably(join(folder, 'state.json'), `${JSON.stringify(full, null, 2)}\n`);
  fsyncDirectory(folder);
}

/**
 * Writes a checkpoint atomically: everything goes into a temporary folder next
 * to the final one, is flushed to disk, and the folder is then renamed into
 * place. A crash at any moment leaves either the complete new checkpoint or
 * none, and every earlier checkpoint untouched. Non-finite weights are never
 * written. The folder holds `model.safetensors`, `optimizer.safetensors` and
 * `state.json` (written last).
 *
 * @param dir - The checkpoints folder (created if needed); the checkpoint goes to `dir/step-NNNNNNNN`.
 * @param state - Everything but the tensors.
 * @param tensors - Model weights and momentum buffers.
 * @param hooks - Awaited at the risky moments, for crash tests (see {@link CheckpointHooks}); default `{}`: no hooks.
 * @returns The checkpoint's folder.
 * @throws {@link NonFiniteWeightsError} when a weight holds NaN or ±Infinity (nothing is written).
 * @throws Error from the file system when the folder cannot be created or written (e.g. `ENOSPC`, `EACCES`); earlier checkpoints stay intact.
 * @example
 * ```ts
 * // Save a fine-tuned model's weights under an existing checkpoint's state (no momentum buffers):
 * const { state } = await readCheckpoint('runs/a/checkpoints/step-00001200');
 * const path = await writeCheckpoint('runs/b/checkpoints', state, {
 *   weights: model.weights.map((w) => ({ name: w.name, tensor: w.read() })),
 *   slots: [],
 * });
 * ```
 */
export async function writeCheckpoint(
  dir: string,
  state: Omit<CheckpointState, 'format' | 'time' | 'slots'>,
  tensors: CheckpointTensors,
  hooks: CheckpointHooks = {},
): Promise<string> {
  const bad = tensors.weights.filter(({ tensor }) => {
    const values = tensor.dataSync();
    for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return true;
    return false;
  });
  if (bad.length > 0)
    throw new NonFiniteWeightsError(
      bad.map((b) => b.name),
      state.step,
    );
  await mkdir(dir, { recursive: true });
  const final = join(dir, checkpointName(state.step));
  const temporary = join(dir, `.tmp-${checkpointName(state.step)}-${process.pid}-${Date.now()}`);
  await mkdir(temporary);
  writeCheckpointFiles(temporary, state, tensors);
  await hooks.beforeRename?.();
  let old: string | undefined;
  try {
    await rename(temporary, final);
  } catch (error) {
    if (
      (error as NodeJS.ErrnoException).code !== 'ENOTEMPTY' &&
      (error as NodeJS.ErrnoException).code !== 'EEXIST'
    )
      throw error;
    // Same step written again: swap. A crash between the two renames leaves
    // both complete folders under temporary names; recoverSwaps puts the new one in place.
    old = `${temporary}-old`;
    await rename(final, old);
    await hooks.betweenRenames?.();
    await rename(temporary, final);
  }
  fsyncDirectory(dir);
  if (old) await rm(old, { recursive: true, force: true });
  return final;
}

/**
 * Reads a checkpoint's `state.json` alone (no tensors): cheap, e.g. to pick
 * the best of many checkpoints. Checkpoints written before the error fields
 * were named `…Error` (`valTop1`, `best.top1`) are read with the new names.
 *
 * @param path - The checkpoint's folder.
 * @returns Its state.
 * @throws Error naming the folder when `state.json` is missing or not JSON, or its format is not {@link CHECKPOINT_FORMAT}.
 * @example
 * ```ts
 * const { step, valTop1Error } = await readCheckpointState('runs/a/checkpoints/step-00001200');
 * ```
 */
export async function readCheckpointState(path: string): Promise<CheckpointState> {
  const file = join(path, 'state.json');
  let state: CheckpointState & { valTop1?: number; best?: { top1?: number } };
  try {
    state = JSON.parse(await readFile(file, 'utf8')) as typeof state;
  } catch (error) {
    throw new Error(
      `${path} is not a checkpoint: cannot read ${file} (${(error as Error).message}).`,
      { cause: error },
    );
  }
  if (state.format !== CHECKPOINT_FORMAT)
    throw new Error(
      `${path}: unknown checkpoint format "${String(state.format)}"; expected "${CHECKPOINT_FORMAT}".`,
    );
  const { valTop1, best, ...rest } = state;
  const valTop1Error = rest.valTop1Error ?? valTop1;
  return {
    ...rest,
    ...(valTop1Error === undefined ? {} : { valTop1Error }),
    ...(best ? { best: { top1Error: best.top1Error ?? best.top1!, step: best.step } } : {}),
  };
}

/**
 * Reads a checkpoint folder (as written by {@link writeCheckpoint}).
 *
 * @param path - The checkpoint's folder.
 * @returns Its state, weights and momentum buffers.
 * @throws Error when `state.json` is missing or unreadable, its format is not {@link CHECKPOINT_FORMAT}, or a safetensors file is invalid.
 * @example
 * ```ts
 * const path = await latestCheckpoint('runs/resnet20');
 * if (path) {
 *   const checkpoint = await readCheckpoint(path);
 *   assignWeights(model, checkpoint.weights, path);
 * }
 * ```
 */
export async function readCheckpoint(path: string): Promise<Checkpoint> {
  const state = await readCheckpointState(path);
  const model = readSafetensors(await readFile(join(path, 'model.safetensors')));
  const weights = [...model.tensors.values()].map((t) => ({ shape: t.shape, data: toFloat32(t) }));
  const optimizer = readSafetensors(await readFile(join(path, 'optimizer.safetensors')));
  const slots = new Map<number, Float32Entry>();
  for (const [key, t] of optimizer.tensors)
    slots.set(Number(key.split(':')[0]), { shape: t.shape, data: toFloat32(t) });
  return { path, state, weights, slots };
}

/**
 * Every complete checkpoint in a checkpoints folder (folders `step-*` holding
 * a `state.json`), oldest first. Half-written ones are left out; a same-step
 * rewrite that a crash cut off between its two renames is completed first.
 *
 * @param dir - The checkpoints folder (`<run>/checkpoints`); a missing folder has none.
 * @returns Each checkpoint's folder and step, by increasing step (empty when there are none; unreadable folders are skipped, not errors).
 * @example
 * ```ts
 * for (const { path, step } of await listCheckpoints('runs/resnet20/checkpoints')) console.log(step, path);
 * ```
 */
export async function listCheckpoints(dir: string): Promise<
  {
    /** The checkpoint's folder. */
    path: string;
    /** Its step. */
    step: number;
  }[]
> {
  await recoverSwaps(dir);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const out: { path: string; step: number }[] = [];
  for (const name of names) {
    const m = /^step-(\d+)$/.exec(name);
    if (!m) continue;
    // A folder without state.json is incomplete: not a checkpoint.
    if (await isComplete(join(dir, name))) out.push({ path: join(dir, name), step: Number(m[1]) });
  }
  return out.sort((a, b) => a.step - b.step);
}

/**
 * The newest complete checkpoint of a run folder.
 *
 * @param runDir - The run folder (its checkpoints are in `runDir/checkpoints`).
 * @returns The checkpoint's folder, or undefined when there is none (a missing or unreadable folder has none).
 * @example
 * ```ts
 * const path = await latestCheckpoint('runs/resnet20'); // e.g. 'runs/resnet20/checkpoints/step-00064000'
 * ```
 */
export async function latestCheckpoint(runDir: string): Promise<string | undefined> {
  const all = await listCheckpoints(join(runDir, 'checkpoints'));
  return all.at(-1)?.path;
}

/**
 * Deletes other processes' leftover temporary folders, and all checkpoints
 * but the last `keep` and the best one.
 *
 * @param dir - The checkpoints folder.
 * @param keep - How many of the newest to keep.
 * @param bestStep - The best checkpoint's step, kept too (undefined: none).
 * @throws Error from the file system when a folder cannot be deleted (e.g. `EACCES`).
 * @example
 * ```ts
 * await pruneCheckpoints('runs/resnet20/checkpoints', 2, undefined); // keep the two newest
 * ```
 */
export async function pruneCheckpoints(
  dir: string,
  keep: number,
  bestStep: number | undefined,
): Promise<void> {
  await recoverSwaps(dir);
  for (const name of await readdir(dir).catch(() => [] as string[]))
    if (name.startsWith('.tmp-') && !name.includes(`-${process.pid}-`))
      await rm(join(dir, name), { recursive: true, force: true });
  const all = await listCheckpoints(dir);
  const kept = new Set(all.slice(-keep).map((c) => c.step));
  if (bestStep !== undefined) kept.add(bestStep);
  for (const c of all) if (!kept.has(c.step)) await rm(c.path, { recursive: true, force: true });
}

/**
 * Loads a checkpoint's weights into a model, matched by position in `model.weights`.
 *
 * @param model - The model (the same architecture as the checkpoint's).
 * @param weights - The checkpoint's weights ({@link Checkpoint.weights}).
 * @param from - The checkpoint's path, named in errors.
 * @throws Error when the count or a shape differs (nothing is loaded then).
 * @example
 * ```ts
 * const checkpoint = await readCheckpoint('runs/resnet20/checkpoints/step-00064000');
 * assignWeights(model, checkpoint.weights, checkpoint.path);
 * ```
 */
export function assignWeights(
  model: LayersModel,
  weights: readonly Float32Entry[],
  from: string,
): void {
  const targets = model.weights;
  if (targets.length !== weights.length)
    throw new Error(
      `${basename(from)}: holds ${weights.length} weights but the model has ${targets.length}.`,
    );
  targets.forEach((w, i) => {
    const saved = weights[i];
    if (saved.shape.join('x') !== w.shape.join('x'))
      throw new Error(
        `${basename(from)}: weight ${i} (${w.originalName}) has shape [${saved.shape}] in the checkpoint but [${w.shape}] in the model.`,
      );
  });
  tf.tidy(() => targets.forEach((w, i) => w.write(tf.tensor(weights[i].data, weights[i].shape))));
}
