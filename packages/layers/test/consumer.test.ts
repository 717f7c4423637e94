import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumerProject } from '../../../test-utils/consumer.ts';

// `npm install @convnets/layers @tensorflow/tfjs` in a fresh project outside
// the workspace, from the tarball `npm publish` would upload.
const program = (importLines: string) => `${importLines}
const x = tf.input({ shape: [8, 8, 3] });
let y = layers.convBnRelu(x, { name: 'conv1', filters: 4 });
y = layers.residualStage(y, { name: 'conv2', block: 'basic', filters: 8, blocks: 2, stride: 2, shortcut: 'A' });
y = new layers.LocalResponseNormalization({ name: 'lrn' }).apply(y);
y = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(y);
y = tf.layers.dense({ units: 3, activation: 'softmax', name: 'fc' }).apply(y);
const model = tf.model({ inputs: x, outputs: y });
const p = model.predict(tf.ones([2, 8, 8, 3]));
const sums = Array.from(tf.sum(p, 1).dataSync()).map((s) => s.toFixed(4));
console.log(JSON.stringify({ backend: tf.getBackend(), shape: p.shape, sums, params: layers.summarize(model).trainableParams }));
`;

describe('consumer install', () => {
  let project: ReturnType<typeof consumerProject>;
  beforeAll(() => {
    project = consumerProject(['packages/layers'], ['@tensorflow/tfjs@^4.22.0']);
  }, 300_000);
  afterAll(() => project?.dispose());

  const check = (stdout: string) => {
    const result = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(result.shape).toEqual([2, 3]);
    expect(result.sums).toEqual(['1.0000', '1.0000']);
    expect(result.params).toBeGreaterThan(0);
  };

  it('works from an ES module', () => {
    check(
      project.run(
        'esm.mjs',
        program(
          `import * as tf from '@tensorflow/tfjs';\nimport * as layers from '@convnets/layers';`,
        ),
      ),
    );
  });

  it('works from CommonJS', () => {
    check(
      project.run(
        'cjs.cjs',
        program(
          `const tf = require('@tensorflow/tfjs');\nconst layers = require('@convnets/layers');`,
        ),
      ),
    );
  });
});
