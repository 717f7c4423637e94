import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumerProject } from '../../../test-utils/consumer.ts';

// `npm install` of every published package (the tarballs `npm publish` would
// upload) into a fresh project, type-checked as a strict TypeScript consumer
// on Node's own module resolution: `nodenext`, and `skipLibCheck: false`, so
// that an import in our .d.ts files that Node's resolution cannot follow
// (e.g. a deep `@tensorflow/tfjs-layers/dist/…` path without an extension)
// is an error here rather than a silent `any` for users.
const PACKAGES = [
  'layers',
  'resnet',
  'vgg',
  'hub',
  'imagenet-data',
  'trainer',
  'backend-native',
  'cli',
];

/** The imports and a few uses whose types must not be `any`; `imp(name)` writes one import. */
const program = (
  imp: (binding: string, from: string) => string,
) => `${imp('tf', '@tensorflow/tfjs')}
${imp('layers', '@convnets/layers')}
${imp('resnet', '@convnets/resnet')}
${imp('vgg', '@convnets/vgg')}
${imp('hub', '@convnets/hub')}
${imp('data', '@convnets/imagenet-data')}
${imp('browser', '@convnets/imagenet-data/browser')}
${imp('trainer', '@convnets/trainer')}
${imp('native', '@convnets/backend-native')}
${imp('cli', '@convnets/cli')}

type IsAny<T> = 0 extends 1 & T ? true : false;
type NotAny<T> = IsAny<T> extends true ? never : T;

export const initializer: NotAny<ReturnType<typeof layers.kaimingNormalFanOut>> = layers.kaimingNormalFanOut(1);
export const className: string = initializer.getClassName();
export const model: tf.LayersModel = resnet.resnet18({ skipInit: true });
export const vggEntry: NotAny<(typeof vgg.VGG_MODELS)[keyof typeof vgg.VGG_MODELS]> = vgg.VGG_MODELS.vgg11;
export const fetchWeights: NotAny<typeof hub.pretrained> = hub.pretrained;
export const view: NotAny<typeof data.torchvisionEval> = data.torchvisionEval;
export const pixels: NotAny<typeof browser.transformPixels> = browser.transformPixels;
export const run: NotAny<typeof trainer.train> = trainer.train;
export const register: NotAny<typeof native.register> = native.register;
export const select: NotAny<typeof cli.selectBackend> = cli.selectBackend;
export const fastPath: NotAny<ReturnType<typeof data.jpegFastPath>> = data.jpegFastPath();
`;

const COMPILER_OPTIONS = {
  module: 'nodenext',
  moduleResolution: 'nodenext',
  target: 'es2022',
  strict: true,
  skipLibCheck: false,
  noEmit: true,
};

describe('every package, type-checked by a strict nodenext consumer', () => {
  let project: ReturnType<typeof consumerProject>;
  beforeAll(() => {
    project = consumerProject(
      PACKAGES.map((p) => `packages/${p}`),
      ['@tensorflow/tfjs@^4.22.0', '@types/node@^20.19.43'],
    );
  }, 300_000);
  afterAll(() => project?.dispose());

  it('compiles an ES module and a CommonJS module that import every package', () => {
    const { dir } = project;
    writeFileSync(
      join(dir, 'esm.mts'),
      program((binding, from) => `import * as ${binding} from '${from}';`),
    );
    writeFileSync(
      join(dir, 'cjs.cts'),
      program((binding, from) => `import ${binding} = require('${from}');`),
    );
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: COMPILER_OPTIONS, files: ['esm.mts', 'cjs.cts'] }),
    );
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    let output = '';
    try {
      execFileSync(process.execPath, [tsc, '-p', dir, '--pretty', 'false'], {
        cwd: dir,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string };
      output = `${e.stdout ?? ''}${e.stderr ?? ''}`;
    }
    // tfjs's own declarations do not pass `strict` (TS2411, TS2420 in
    // tfjs-layers' keras_format and engine files): those are not ours to fix.
    const ours = output
      .split('\n')
      .filter((line) => /error TS\d+/.test(line) && !line.startsWith('node_modules/@tensorflow/'));
    expect(ours).toEqual([]);
  });
});
