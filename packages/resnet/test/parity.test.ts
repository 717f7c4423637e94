import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { loadWeights, resnet18, resnet50 } from '../src';
import {
  formulaInputNHWC,
  formulaStateDict,
  readFixture,
} from '../../../test-utils/torch-fixture.ts';

// Logits from torchvision 0.14 (float64, eval mode) for weights and inputs
// given by a formula; see scripts/fixtures. Our models get the same weights
// through the public weight-import path and must compute the same logits.
describe.each([
  ['resnet18', resnet18],
  ['resnet50', resnet50],
])('%s computes what torchvision computes', (name, factory) => {
  it('logits within 1e-4 × max |logit|', async () => {
    const fixture = readFixture(new URL(`../fixtures/torchvision/${name}.json`, import.meta.url));
    const [, , h, w] = fixture.inputShapeNCHW;
    const net = factory({ inputShape: [h, w, 3], classifierActivation: null });
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
