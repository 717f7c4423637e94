import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { consumerProject } from '../../../test-utils/consumer.ts';

// `npm install @convnets/imagenet-data @tensorflow/tfjs` in a fresh project,
// from the tarball `npm publish` would upload: the class list must be inside,
// sharp must decode, and the JPEG addon (in prebuilds/) must load on
// linux-x64, from both module systems; `./browser` must resolve, and its
// preprocess give the file path's floats for the decoded pixels.
const photo = fileURLToPath(new URL('./fixtures/ILSVRC2012_test_00000002.JPEG', import.meta.url));
const program = (importLines: string) => `${importLines}
const run = async () => {
  await tf.setBackend('cpu');
  const views = await data.transformImage(${JSON.stringify(photo)}, data.torchvisionEval());
  const batch = browser.preprocess(await data.decodeImage(${JSON.stringify(photo)}), browser.torchvisionEval());
  const inMemory = batch.dataSync();
  const same = inMemory.length === views[0].data.length && inMemory.every((v, i) => v === views[0].data[i]);
  const rows = data.decodePredictions(Array.from({ length: 1000 }, (_, i) => (i === 281 ? 1 : 0)), 1);
  console.log(JSON.stringify({ classes: data.IMAGENET_CLASSES.length, top: rows[0].name, view: [views[0].height, views[0].width], fastPath: data.jpegFastPath().libjpegTurbo ?? null, browser: [batch.shape, same] }));
};
run();
`;

describe('consumer install', () => {
  let project: ReturnType<typeof consumerProject>;
  beforeAll(() => {
    project = consumerProject(['packages/imagenet-data'], ['@tensorflow/tfjs@^4.22.0']);
  }, 300_000);
  afterAll(() => project?.dispose());

  const check = (stdout: string) => {
    expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual({
      classes: 1000,
      top: 'tabby',
      view: [224, 224],
      fastPath: `${process.platform}-${process.arch}` === 'linux-x64' ? '2.1.5' : null,
      // The sharp path (no addon) resizes differently, so the floats agree only with the addon.
      browser: [[1, 224, 224, 3], `${process.platform}-${process.arch}` === 'linux-x64'],
    });
  };

  it('works from an ES module', () => {
    check(
      project.run(
        'esm.mjs',
        program(
          `import * as tf from '@tensorflow/tfjs';\nimport * as data from '@convnets/imagenet-data';\nimport * as browser from '@convnets/imagenet-data/browser';`,
        ),
      ),
    );
  });

  it('works from CommonJS', () => {
    check(
      project.run(
        'cjs.cjs',
        program(
          `const tf = require('@tensorflow/tfjs');\nconst data = require('@convnets/imagenet-data');\nconst browser = require('@convnets/imagenet-data/browser');`,
        ),
      ),
    );
  });
});
