// Randomised differential test: every kernel the native backend registers,
// run on random shapes (0- and 1-sized dimensions, kernels larger than their
// inputs, broadcasting, transposes) on both `convnets-native` and tfjs's
// `cpu`, which must agree: the same shapes and values, or both throw.
//
//   CONVNETS_FUZZ_SECONDS  how long to run (default 20)
//   CONVNETS_FUZZ_SEED     the seed (default: random; printed either way)
//   CONVNETS_FUZZ_CASE     run only this case number of the seed (a replay)
//   CONVNETS_FUZZ_TRACE    a file that holds the case running now, for a crash
//
// Under the sanitizer addon (scripts/with-sanitizer.mjs) a memory error or
// undefined behaviour in a kernel ends the process with the sanitizer's report.
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { nativeInfo, nativeKernelNames } from '../src';
import { backendName, ensureNative } from './helpers';
import { compare, describeCase, makeCase, makers, runCase } from './fuzz';

beforeAll(ensureNative);

const seconds = Number(process.env.CONVNETS_FUZZ_SECONDS ?? 20);
const seed = process.env.CONVNETS_FUZZ_SEED
  ? Number(process.env.CONVNETS_FUZZ_SEED) >>> 0
  : Math.floor(Math.random() * 2 ** 32);
const only = process.env.CONVNETS_FUZZ_CASE;
const trace = process.env.CONVNETS_FUZZ_TRACE;

describe('native vs cpu on random shapes', () => {
  it('has a case generator for every native kernel', () => {
    expect(nativeKernelNames.filter((k) => !(k in makers))).toEqual([]);
  });

  it(
    `agrees with cpu for ${seconds} s (seed ${seed})`,
    async () => {
      const replay = `CONVNETS_FUZZ_SEED=${seed}`;
      // Straight to stderr as well, so that the seed survives a crash of this process.
      process.stderr.write(
        `differential test: seed ${seed}, ${seconds} s, addon ${nativeInfo()?.path} (replay: ${replay})\n`,
      );
      const before = tf.memory().numTensors;
      const deadline = performance.now() + seconds * 1000;
      const counts: Record<string, number> = {};
      let agreedErrors = 0;
      let index = only !== undefined ? Number(only) : 0;
      do {
        const c = makeCase(seed, index, nativeKernelNames);
        await tf.setBackend('cpu');
        const cpu = runCase(c);
        await tf.setBackend(backendName);
        if (trace)
          writeFileSync(
            trace,
            `seed ${seed} case ${index} (replay: ${replay} CONVNETS_FUZZ_CASE=${index}): ${describeCase(c)}\n`,
          );
        const native = runCase(c);
        const why = compare(c, native, cpu);
        if (why)
          throw new Error(
            `case ${index} (replay: ${replay} CONVNETS_FUZZ_CASE=${index}): ${describeCase(c)}: ${why}`,
          );
        if ('error' in native) agreedErrors++;
        counts[c.kernel] = (counts[c.kernel] ?? 0) + 1;
        index++;
      } while (only === undefined && performance.now() < deadline);
      await tf.setBackend('cpu');
      expect(tf.memory().numTensors, 'tensors leaked by the cases').toBe(before);
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      console.log(
        `differential test: ${total} cases over ${Object.keys(counts).length} kernels agreed (${agreedErrors} where both threw), seed ${seed}`,
      );
    },
    seconds * 1000 + 120_000,
  );
});
