import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWeights, vgg11 } from '../src';
import { compareWithTorchvision, readFixture } from '../../../test-utils/torch-fixture.ts';

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
    const { rows, maxDiff, maxLogit } = await compareWithTorchvision(net, fixture, loadWeights);
    expect(rows).toBe(fixture.logits.length);
    expect(maxDiff).toBeLessThanOrEqual(1e-4 * maxLogit);
    net.dispose();
  });
});
