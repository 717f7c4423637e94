import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumerProject } from '../../../test-utils/consumer.ts';

// `npm install @convnets/resnet @convnets/layers @tensorflow/tfjs` in a fresh
// project outside the workspace, from the tarballs `npm publish` would upload.
const program = (importLines: string) => `${importLines}
(async () => {
  const net = resnet.cifarResNet(8, { inputShape: [16, 16, 3] });
  const bytes = await resnet.saveWeights(net);
  const copy = resnet.cifarResNet(8, { inputShape: [16, 16, 3], skipInit: true });
  await resnet.loadWeights(copy, bytes, { from: 'torchvision' });
  const x = tf.randomNormal([2, 16, 16, 3], 0, 1, 'float32', 1);
  const a = Array.from(net.predict(x).dataSync());
  const b = Array.from(copy.predict(x).dataSync());
  const params = layers.summarize(resnet.resnet50({ skipInit: true })).trainableParams;
  console.log(JSON.stringify({ same: a.every((v, i) => v === b[i]), length: a.length, params }));
})();
`;

describe('consumer install of @convnets/resnet', () => {
  let project: ReturnType<typeof consumerProject>;
  beforeAll(() => {
    project = consumerProject(['packages/layers', 'packages/resnet'], ['@tensorflow/tfjs@^4.22.0']);
  }, 300_000);
  afterAll(() => project?.dispose());

  const check = (stdout: string) => {
    expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual({
      same: true,
      length: 20,
      params: 25_557_032,
    });
  };

  it('works from an ES module', () => {
    check(
      project.run(
        'esm.mjs',
        program(
          `import * as tf from '@tensorflow/tfjs';\nimport * as layers from '@convnets/layers';\nimport * as resnet from '@convnets/resnet';`,
        ),
      ),
    );
  });

  it('works from CommonJS', () => {
    check(
      project.run(
        'cjs.cjs',
        program(
          `const tf = require('@tensorflow/tfjs');\nconst layers = require('@convnets/layers');\nconst resnet = require('@convnets/resnet');`,
        ),
      ),
    );
  });
});
