import { readFileSync } from 'node:fs';
import { writeSafetensors, type Float32Entry } from '@convnets/layers';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';

/**
 * The deterministic weights and inputs of the torchvision parity fixtures,
 * reimplemented from their definition in
 * `scripts/fixtures/generate_torchvision_fixtures.py` (formula
 * "convnets-fixture-v1"); see `scripts/fixtures/README.md`.
 */

/** A fixture file written by the generator. */
export interface TorchFixture {
  model: string;
  formula: string;
  inputShapeNCHW: [number, number, number, number];
  /** Every state-dict key (without num_batches_tracked) and its PyTorch shape. */
  parameters: [string, number[]][];
  /** Eval-mode logits computed by torchvision in float64. */
  logits: number[][];
}

export function readFixture(path: string | URL): TorchFixture {
  const fixture = JSON.parse(readFileSync(path, 'utf8')) as TorchFixture;
  if (fixture.formula !== 'convnets-fixture-v1')
    throw new Error(`unknown fixture formula ${fixture.formula}`);
  return fixture;
}

function nameHash(name: string): number {
  let h = 0;
  for (let k = 0; k < name.length; k++) h += (k + 1) * name.charCodeAt(k);
  return h % 9973;
}

// 2π in three parts (26, 26 and 53 significant bits) and 1 / 2π, for sinFormula.
const TWO_PI_1 = 6.283185362815857;
const TWO_PI_2 = -5.563627070159782e-8;
const TWO_PI_3 = 2.4492935982947064e-16;
const INV_TWO_PI = 0.15915494309189535;

/**
 * `Math.sin(x)` for the formula's arguments (0 ≤ x < 2^29), about six times
 * faster: the arguments of a large tensor reach 4·10^7, where `Math.sin` takes
 * its slow exact argument reduction. Here x − k·2π is exact in the first step
 * (k·TWO_PI_1 needs at most 53 bits for k < 2^27) and 2π is carried to ~105
 * bits, so the reduced argument is within ~1e-16 of the true one and the result
 * within one float64 ulp of `Math.sin(x)`: identical once rounded to float32
 * (checked on all 10^8 elements of vgg11's classifier.0.weight, and by
 * test-utils' own check in packages/vgg/test/parity.test.ts).
 */
export function sinFormula(x: number): number {
  if (!(x >= 0 && x < 2 ** 29)) return Math.sin(x);
  const k = Math.round(x * INV_TWO_PI);
  return Math.sin(x - k * TWO_PI_1 - k * TWO_PI_2 - k * TWO_PI_3);
}

/** The value of every element of state-dict entry `name`, in PyTorch's row-major layout. */
export function formulaValues(name: string, shape: number[]): Float32Array {
  const count = shape.reduce((a, d) => a * d, 1);
  const phase = (nameHash(name) / 9973) * 2 * Math.PI;
  const fanIn = shape.slice(1).reduce((a, d) => a * d, 1);
  // The formula's case depends only on the entry, so it is chosen once: value = offset + scale · s.
  const [offset, scale] = name.endsWith('running_var')
    ? [1, 0.5]
    : name.endsWith('running_mean')
      ? [0, 0.1]
      : shape.length >= 2
        ? [0, Math.sqrt(2 / fanIn)]
        : name.endsWith('weight')
          ? [1, 0.2]
          : [0, 0.1];
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = offset + scale * sinFormula(0.37 * i + phase);
  return out;
}

/** The fixture's state dict as a torchvision-named safetensors file. */
export function formulaStateDict(fixture: TorchFixture): Uint8Array {
  const entries = new Map<string, Float32Entry>();
  for (const [name, shape] of fixture.parameters)
    entries.set(name, { shape, data: formulaValues(name, shape) });
  return writeSafetensors(entries);
}

/** The fixture input, `sin(0.3n + 1.1c + 0.17y + 0.23x + 0.01yx)`, laid out NHWC for tfjs. */
export function formulaInputNHWC([batch, channels, height, width]: number[]): {
  data: Float32Array;
  shape: [number, number, number, number];
} {
  const data = new Float32Array(batch * channels * height * width);
  let i = 0;
  for (let n = 0; n < batch; n++)
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++)
        for (let c = 0; c < channels; c++)
          data[i++] = Math.sin(0.3 * n + 1.1 * c + 0.17 * y + 0.23 * x + 0.01 * y * x);
  return { data, shape: [batch, height, width, channels] };
}

/**
 * Loads the fixture's formula weights into `net` through the package's own
 * `loadWeights`, runs the fixture input, and returns the largest difference to
 * torchvision's logits next to the largest logit.
 */
export async function compareWithTorchvision(
  net: LayersModel,
  fixture: TorchFixture,
  loadWeights: (
    model: LayersModel,
    source: Uint8Array,
    opts: { from: 'torchvision' },
  ) => Promise<unknown>,
): Promise<{ rows: number; maxDiff: number; maxLogit: number }> {
  await loadWeights(net, formulaStateDict(fixture), { from: 'torchvision' });
  const { data, shape } = formulaInputNHWC(fixture.inputShapeNCHW);
  const x = tf.tensor4d(data, shape);
  const logits = net.predict(x) as tf.Tensor;
  const got = logits.arraySync() as number[][];
  tf.dispose([x, logits]);
  let maxDiff = 0;
  got.forEach((row, n) =>
    row.forEach((v, k) => (maxDiff = Math.max(maxDiff, Math.abs(v - fixture.logits[n][k])))),
  );
  return { rows: got.length, maxDiff, maxLogit: Math.max(...fixture.logits.flat().map(Math.abs)) };
}
