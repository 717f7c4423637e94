import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWeights, vgg11 } from '../src';
import {
  compareWithTorchvision,
  readFixture,
  sinFormula,
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
    const { rows, maxDiff, maxLogit } = await compareWithTorchvision(net, fixture, loadWeights);
    expect(rows).toBe(fixture.logits.length);
    expect(maxDiff).toBeLessThanOrEqual(1e-4 * maxLogit);
    net.dispose();
  });
});

// The formula's weights are computed with test-utils' sinFormula (a faster
// argument reduction than Math.sin's for the large arguments of vgg11's 10^8
// fc1 weights); it must give what Math.sin gives, once rounded to float32.
it("test-utils' sinFormula is Math.sin in float32 over the fixtures' whole argument range", () => {
  const phase = 5.1;
  let differ = 0;
  for (let i = 0; i < 132_900_000; i += 433) {
    const x = 0.37 * i + phase;
    if (Math.fround(sinFormula(x)) !== Math.fround(Math.sin(x))) differ++;
  }
  expect(differ).toBe(0);
});
