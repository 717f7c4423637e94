import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  architectureHash,
  assignWeights,
  compareResumeKeys,
  latestCheckpoint,
  NonFiniteWeightsError,
  pruneCheckpoints,
  readCheckpoint,
  ResumeMismatchError,
  writeCheckpoint,
  type Checkpoint,
  type CheckpointHooks,
  type ResumeKey,
} from './checkpoint';
import type { MetricsLog } from './metrics-log';
import type { RunContext } from './options';
import { NO_TOTALS, type RunState } from './progress';

/** Test hooks into checkpoint writing (internal). @internal */
export const checkpointHooks: CheckpointHooks = {};

/** What a checkpoint of this run records, and a resume must match. */
export function resumeKey(ctx: RunContext): ResumeKey {
  const { model, data } = ctx.options;
  return {
    architecture: architectureHash(model),
    architectureName: `${model.name} (${model.countParams()} parameters, ${model.layers.length} layers)`,
    classes: [...data.classes],
    batchSize: data.batchSize,
    accumulate: ctx.accumulate,
    data: { ...data.fingerprint },
  };
}

/** Loads the checkpoint's weights and momentum buffers, after checking it was taken by this run's recipe. */
function loadTensors(ctx: RunContext, checkpoint: Checkpoint): void {
  const { path, state } = checkpoint;
  const differences = compareResumeKeys(state.key, resumeKey(ctx));
  if (state.seed !== ctx.seed)
    differences.push(`the seed differs (checkpoint: ${state.seed}, this run: ${ctx.seed})`);
  if (differences.length > 0) throw new ResumeMismatchError(path, differences);
  assignWeights(ctx.options.model, checkpoint.weights, path);
  const slots = new Map<string, tf.Tensor>();
  for (const [index, value] of checkpoint.slots) {
    const v = ctx.variables[index];
    if (!v) throw new Error(`${path}: optimizer slot ${index} has no trainable weight.`);
    slots.set(v.name, tf.tensor(value.data, value.shape));
  }
  ctx.optimizer.restoreSlots(slots);
  tf.dispose([...slots.values()]);
}

/**
 * Resumes when the options ask for it: the checkpoint's weights, momentum,
 * schedule and position go into the model, optimizer, schedule and `state`;
 * the metrics log is cut back to the checkpoint. Without a checkpoint to
 * resume (`resume: true` in a run folder that has none), starts from scratch,
 * dropping any metrics rows left behind.
 */
export async function restoreRun(
  ctx: RunContext,
  state: RunState,
  log: MetricsLog | undefined,
): Promise<void> {
  const { resume, outDir } = ctx.options;
  if (!resume) return;
  const path = resume === true ? await latestCheckpoint(outDir!) : resume;
  if (!path) {
    ctx.log(`no checkpoint in ${join(outDir!, 'checkpoints')}: starting from scratch`);
    if (log && existsSync(log.jsonlPath)) log.truncateAfter(0);
    return;
  }
  const checkpoint = await readCheckpoint(path);
  loadTensors(ctx, checkpoint);
  const saved = checkpoint.state;
  ctx.schedule.restore(saved.schedule);
  state.step = saved.step;
  state.epoch = saved.epoch;
  state.position = saved.data;
  state.best = saved.best;
  const midEpoch = state.position.epoch === state.epoch && state.position.position > 0;
  state.totals = midEpoch ? (saved.epochTotals ?? NO_TOTALS) : NO_TOTALS;
  state.lastCheckpoint = path;
  // Epoch rows of epochs this run will finish are written again when they end.
  log?.truncateAfter(state.step, state.step < ctx.totalSteps ? state.epoch : Infinity);
  ctx.log(`resumed from ${path} at step ${state.step} (epoch ${state.epoch})`);
}

/** {@link writeCheckpoint}, with the learning rate of the last update named if the weights are not finite. */
async function writeCheckpointNamingLr(
  lr: number,
  ...args: Parameters<typeof writeCheckpoint>
): Promise<string> {
  try {
    return await writeCheckpoint(...args);
  } catch (error) {
    if (error instanceof NonFiniteWeightsError)
      throw new NonFiniteWeightsError(error.names, error.step, lr);
    throw error;
  }
}

/** Writes a checkpoint of `state` into the run folder (none without `outDir`), then prunes old ones. */
export async function saveCheckpoint(
  ctx: RunContext,
  state: RunState,
  valTop1Error?: number,
): Promise<void> {
  const outDir = ctx.options.outDir;
  if (!outDir) return;
  const dir = join(outDir, 'checkpoints');
  const slots = ctx.optimizer.slots();
  state.lastCheckpoint = await writeCheckpointNamingLr(
    ctx.schedule.at(Math.max(0, state.step - 1)),
    dir,
    {
      step: state.step,
      epoch: state.epoch,
      data: state.position,
      schedule: ctx.schedule.state(),
      seed: ctx.seed,
      key: resumeKey(ctx),
      valTop1Error,
      best: state.best,
      epochTotals: { ...state.totals, seconds: (performance.now() - state.epochStarted) / 1000 },
      ...(ctx.options.checkpointMetadata ? { metadata: ctx.options.checkpointMetadata } : {}),
    },
    {
      weights: ctx.options.model.weights.map((w) => ({ name: w.originalName, tensor: w.read() })),
      slots: ctx.variables
        .map((v, index) => ({ index, name: v.name, tensor: slots.get(v.name) }))
        .filter(
          (s): s is { index: number; name: string; tensor: tf.Variable } => s.tensor !== undefined,
        ),
    },
    checkpointHooks,
  );
  await pruneCheckpoints(dir, ctx.options.keepLast ?? 3, state.best?.step);
}
