import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { arrayTrainingData, train } from '../src';
import { tinyDataset, tinyNet } from './helpers';

describe('train() leaves the process as it found it unless asked', () => {
  it('installs no signal handlers by default (handleSignals: true does, for the run only) and patches no kernel', async () => {
    const kernel = tf.getKernel('Conv2DBackpropFilter', 'cpu')?.kernelFunc;
    const before = {
      SIGINT: process.listenerCount('SIGINT'),
      SIGTERM: process.listenerCount('SIGTERM'),
    };
    const during: number[][] = [];
    const run = (handleSignals?: boolean) =>
      train({
        model: tinyNet(),
        data: arrayTrainingData(tinyDataset(8), { batchSize: 4 }),
        steps: 1,
        lr: 0.01,
        ...(handleSignals === undefined ? {} : { handleSignals }),
        callbacks: {
          onStep: () => {
            during.push([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]);
          },
        },
      });
    await run();
    await run(true);
    expect(during).toEqual([
      [before.SIGINT, before.SIGTERM],
      [before.SIGINT + 1, before.SIGTERM + 1],
    ]);
    expect(process.listenerCount('SIGINT')).toBe(before.SIGINT);
    expect(process.listenerCount('SIGTERM')).toBe(before.SIGTERM);
    expect(tf.getKernel('Conv2DBackpropFilter', 'cpu')?.kernelFunc).toBe(kernel);
  });
});
