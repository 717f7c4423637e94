import * as tf from '@tensorflow/tfjs-core';
import { getKernel } from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { backendName, loadError, nativeInfo, nativeKernelNames, register } from '../src';

describe('registration', () => {
  it('loads the addon and registers the backend under its exported name', async () => {
    expect(loadError()).toBeUndefined();
    expect(await register()).toBe(true);
    expect(await register()).toBe(true);
    expect(tf.engine().registryFactory[backendName]).toBeDefined();
    const info = nativeInfo();
    expect(info?.threads).toBeGreaterThanOrEqual(1);
    expect(['avx512', 'avx2', 'generic']).toContain(info?.isa);
  });

  it('serves every cpu kernel, and replaces the hot ones with native code', () => {
    for (const config of tf.getKernelsForBackend('cpu')) {
      expect(getKernel(config.kernelName, backendName), config.kernelName).toBeDefined();
    }
    for (const name of [
      'Conv2D',
      'FusedConv2D',
      'Conv2DBackpropInput',
      'Conv2DBackpropFilter',
      'BatchMatMul',
      '_FusedMatMul',
      'Sum',
      'Mean',
      'Tile',
      'Multiply',
    ]) {
      expect(nativeKernelNames).toContain(name);
      expect(getKernel(name, backendName)?.kernelFunc).not.toBe(getKernel(name, 'cpu')?.kernelFunc);
    }
  });

  it('is selectable with tf.setBackend', async () => {
    expect(await tf.setBackend(backendName)).toBe(true);
    expect(tf.getBackend()).toBe(backendName);
    expect(Array.from(tf.add(tf.tensor([1, 2]), tf.tensor([3, 4])).dataSync())).toEqual([4, 6]);
    await tf.setBackend('cpu');
  });
});
