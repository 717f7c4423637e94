// The browser half of `convnets export`'s preprocessing.json: the same
// transform the CLI evaluates with, rebuilt from its preset and options with
// @convnets/imagenet-data/browser (no Node module).
import {
  cifarEval,
  resnetPaperEval,
  tenCrop,
  type Transform,
} from '@convnets/imagenet-data/browser';

/** `preprocessing.json` as `convnets export` writes it. */
export interface ExportedPreprocessing {
  /** `'convnets-preprocessing/1'`. */
  format: string;
  /** The model's input: `imageSize × imageSize × 3`. */
  imageSize: number;
  /** Whether the model outputs logits (apply a softmax) or probabilities. */
  outputs: 'logits' | 'probabilities';
  /** The preset of @convnets/imagenet-data that builds the transform. */
  preset: 'cifarEval' | 'resnetPaperEval' | 'tenCrop';
  /** Its options; a per-pixel mean's `data` is a list of numbers. */
  options: Record<string, unknown>;
}

const PRESETS: Record<ExportedPreprocessing['preset'], (options: object) => Transform> = {
  cifarEval,
  resnetPaperEval,
  tenCrop,
};

/** A per-pixel mean written as a list of numbers, back to the `Float32Array` the presets take. */
function revive(options: Record<string, unknown>): Record<string, unknown> {
  const n = options.normalization as { mean?: { data?: unknown } } | undefined;
  const mean = n?.mean;
  if (!mean || Array.isArray(mean) || !Array.isArray(mean.data)) return options;
  const data = Float32Array.from(mean.data as number[]);
  return { ...options, normalization: { ...n, mean: { ...mean, data } } };
}

/** The transform `preprocessing.json` describes. */
export function transformFromJson(json: ExportedPreprocessing): Transform {
  if (json.format !== 'convnets-preprocessing/1')
    throw new Error(`preprocessing.json: unknown format ${JSON.stringify(json.format)}`);
  const preset = PRESETS[json.preset];
  if (!preset) throw new Error(`preprocessing.json: unknown preset ${JSON.stringify(json.preset)}`);
  return preset(revive(json.options));
}
