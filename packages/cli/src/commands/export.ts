import type { Command } from '@commander-js/extra-typings';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { outputsProbabilities } from '@convnets/trainer';
import { architecture, type EvalPreset } from '../architectures';
import { loadModel } from '../model';
import {
  channelPaddingOption,
  int,
  meanOption,
  preprocessOption,
  stdOption,
  torchvisionStats,
  useBackend,
} from '../options';
import { fail, oneLine } from '../output';
import { stateDictClasses } from './predict';

/** The most bytes one weight shard holds (tfjs converter's default). */
const SHARD_BYTES = 4 * 1024 * 1024;

/** What `preprocessing.json` records: the eval transform as a preset and its options, and the model's output. */
export interface ExportedPreprocessing extends EvalPreset {
  /** `'convnets-preprocessing/1'`. */
  format: string;
  /** The model's input: `imageSize × imageSize × 3`. */
  imageSize: number;
  /** Whether the model outputs logits (apply a softmax) or probabilities. */
  outputs: 'logits' | 'probabilities';
}

/** Declares `convnets export` and its flags (their types are inferred from here). */
function declare(program: Command) {
  return program
    .command('export')
    .description(
      'write a model as a tfjs layers model (model.json + weight shards) with preprocessing.json and classes.json, for the browser',
    )
    .requiredOption('--arch <name>', 'architecture')
    .requiredOption(
      '--weights <path>',
      'checkpoint folder, run folder, .pth or .safetensors file, weights name (IMAGENET1K_V2, DEFAULT) or http(s) URL',
    )
    .requiredOption('--out <dir>', 'output folder (created; its files are overwritten)')
    .option(
      '--classes <names>',
      'class names of a .safetensors state dict: comma-separated, or a file with one per line (default: ImageNet names for 1000 classes, else indices)',
    )
    .option('--image-size <px>', 'input size', int('image-size'))
    .addOption(channelPaddingOption())
    .addOption(preprocessOption())
    .addOption(meanOption())
    .addOption(stdOption());
}

/** The flags of `convnets export`. */
type ExportFlags = ReturnType<ReturnType<typeof declare>['opts']>;

/** Registers `convnets export`. */
export function exportCommand(program: Command): void {
  declare(program).action(runExport);
}

/** The weight shards' file names and bytes: `group1-shardNofM.bin`, at most {@link SHARD_BYTES} each. */
function shards(data: ArrayBuffer): { name: string; bytes: Uint8Array }[] {
  const count = Math.max(1, Math.ceil(data.byteLength / SHARD_BYTES));
  return Array.from({ length: count }, (_, i) => ({
    name: `group1-shard${i + 1}of${count}.bin`,
    bytes: new Uint8Array(
      data,
      i * SHARD_BYTES,
      Math.min(SHARD_BYTES, data.byteLength - i * SHARD_BYTES),
    ),
  }));
}

/**
 * Saves `model` into `dir` as `tf.io`'s file handlers lay it out: `model.json`
 * (topology and weights manifest) and its weight shards. Returns the files' names.
 */
export async function saveLayersModel(model: LayersModel, dir: string): Promise<string[]> {
  const files: string[] = [];
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const data = tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      const parts = shards(data);
      for (const p of parts) writeFileSync(join(dir, p.name), p.bytes);
      const json = {
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version_core}`,
        convertedBy: 'convnets export',
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: parts.map((p) => p.name), weights: artifacts.weightSpecs }],
      };
      writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
      files.push('model.json', ...parts.map((p) => p.name));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  return files;
}

/** An {@link EvalPreset} as JSON: a per-pixel mean's `Float32Array` becomes a list of numbers. */
export function presetJson(preset: EvalPreset): EvalPreset {
  return JSON.parse(
    JSON.stringify(preset, (_, v: unknown) => (v instanceof Float32Array ? Array.from(v) : v)),
  ) as EvalPreset;
}

/** `convnets export`: loads the weights and writes the model, its preprocessing and its class names. */
async function runExport(o: ExportFlags): Promise<void> {
  const a = architecture(o.arch, { channelPadding: o.channelPadding });
  await useBackend('cpu', false);
  const { model, classes, size, preprocessing, pixelMean, resize } = await loadModel(a, o.weights, {
    imageSize: o.imageSize,
    preprocess: o.preprocess,
    classNames: async (count) => stateDictClasses(o, count),
  });
  const preset = a.evalPreset(size, {
    preprocessing,
    pixelMean,
    resize,
    ...torchvisionStats(o, preprocessing),
  });
  const meta: ExportedPreprocessing = {
    format: 'convnets-preprocessing/1',
    imageSize: size,
    outputs: outputsProbabilities(model) ? 'probabilities' : 'logits',
    ...presetJson(preset),
  };
  let files: string[];
  try {
    mkdirSync(o.out, { recursive: true });
    files = await saveLayersModel(model, o.out);
    writeFileSync(join(o.out, 'preprocessing.json'), `${JSON.stringify(meta, null, 2)}\n`);
    writeFileSync(join(o.out, 'classes.json'), `${JSON.stringify(classes)}\n`);
  } catch (error) {
    fail(`--out ${o.out}: ${oneLine((error as Error).message)}`);
  }
  console.log(
    `exported ${a.name} (${classes.length} classes, ${size}×${size}, ${meta.preset}) to ${o.out}: model.json, ${files.length - 1} weight shard${files.length === 2 ? '' : 's'}, preprocessing.json, classes.json`,
  );
}
