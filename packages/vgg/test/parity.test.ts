import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWeights, vgg11 } from '../src';
import {
  formulaInputNHWC,
  formulaStateDict,
  readFixture,
} from '../../../test-utils/torch-fixture.ts';

// A full 224×224 VGG forward pass takes ~30 s on the cpu backend and ~1 s on
// wasm, so this one numerical test runs on wasm. The logits come from
// torchvision 0.14's vgg11_bn (float64, eval mode) with formula weights; see scripts/fixtures.
describe('vgg11 with batchNorm computes what torchvision vgg11_bn computes', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('logits within 1e-4 × max |logit|, through the NCHW → NHWC flatten of the first FC layer', async () => {
    const fixture = readFixture(new URL('../fixtures/torchvision/vgg11_bn.json', import.meta.url));
    const net = vgg11({ batchNorm: true, classifierActivation: null, skipInit: true });
    await loadWeights(net, formulaStateDict(fixture), { from: 'torchvision' });
    const { data, shape } = formulaInputNHWC(fixture.inputShapeNCHW);
    const x = tf.tensor4d(data, shape);
    const logits = net.predict(x) as tf.Tensor;
    const got = logits.arraySync() as number[][];
    const maxLogit = Math.max(...fixture.logits.flat().map(Math.abs));
    let maxDiff = 0;
    got.forEach((row, n) =>
      row.forEach((v, k) => (maxDiff = Math.max(maxDiff, Math.abs(v - fixture.logits[n][k])))),
    );
    expect(got.length).toBe(fixture.logits.length);
    expect(maxDiff).toBeLessThanOrEqual(1e-4 * maxLogit);
    tf.dispose([x, logits]);
    net.dispose();
  });
});
