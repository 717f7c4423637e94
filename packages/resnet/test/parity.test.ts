import { describe, expect, it } from 'vitest';
import { loadWeights, resnet18, resnet50, wideResnet50_2 } from '../src';
import { compareWithTorchvision, readFixture } from '../../../test-utils/torch-fixture.ts';

// Logits from torchvision 0.14 (float64, eval mode) for weights and inputs
// given by a formula; see scripts/fixtures. Our models get the same weights
// through the public weight-import path and must compute the same logits.
describe.each([
  ['resnet18', resnet18],
  ['resnet50', resnet50],
  ['wide_resnet50_2', wideResnet50_2],
])('%s computes what torchvision computes', (name, factory) => {
  it('logits within 1e-4 × max |logit|', async () => {
    const fixture = readFixture(new URL(`../fixtures/torchvision/${name}.json`, import.meta.url));
    const [, , h, w] = fixture.inputShapeNCHW;
    const net = factory({ inputShape: [h, w, 3], classifierActivation: null, skipInit: true });
    const { rows, maxDiff, maxLogit } = await compareWithTorchvision(net, fixture, loadWeights);
    expect(rows).toBe(fixture.logits.length);
    expect(maxDiff).toBeLessThanOrEqual(1e-4 * maxLogit);
    net.dispose();
  });
});
