import * as tf from '@tensorflow/tfjs-core';
import {
  layers,
  loadLayersModel,
  type LayersModel,
  type SymbolicTensor,
} from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import {
  basicBlock,
  bottleneckBlock,
  convBn,
  convBnRelu,
  LocalResponseNormalization,
  residualStage,
  ZeroPadChannels,
} from '../src';
import { wrap } from './helpers';

/** A small net with every block kind and both custom layers. */
function everyBlock(): LayersModel {
  return wrap(
    [8, 8, 3],
    (x) => {
      let y = convBnRelu(x, { name: 'conv1', filters: 4 });
      y = new LocalResponseNormalization({ name: 'lrn', size: 3, alpha: 1e-3 }).apply(
        y,
      ) as SymbolicTensor;
      y = basicBlock(y, {
        name: 'a',
        filters: 6,
        stride: 2,
        shortcut: 'A',
        channelPadding: 'both',
      });
      y = basicBlock(y, { name: 'b', filters: 6, shortcut: 'C' });
      y = basicBlock(y, { name: 'p', filters: 6, plain: true });
      y = bottleneckBlock(y, { name: 'k', filters: 2, strideIn: '1x1', zeroInitResidual: false });
      y = residualStage(y, { name: 'conv3', block: 'basic', filters: 8, blocks: 2, stride: 2 });
      y = new ZeroPadChannels({ name: 'widen', outChannels: 10 }).apply(y) as SymbolicTensor;
      y = convBn(y, { name: 'head', filters: 5, kernelSize: 1 });
      y = layers.globalAveragePooling2d({ name: 'pool' }).apply(y) as SymbolicTensor;
      return layers.dense({ units: 3, name: 'fc' }).apply(y) as SymbolicTensor;
    },
    'every_block',
  );
}

describe('save → load round trip', () => {
  it('restores every weight and the predictions exactly', async () => {
    const m = everyBlock();
    // Non-trivial values everywhere, BN moving statistics included.
    m.weights.forEach((w, i) => {
      const positive = /moving_variance|gamma/.test(w.originalName);
      w.write(
        tf.tidy(() => {
          const r = tf.randomUniform(
            w.shape as number[],
            positive ? 0.5 : -1,
            positive ? 1.5 : 1,
            'float32',
            i,
          );
          return r;
        }),
      );
    });
    let saved: tf.io.ModelArtifacts | undefined;
    await m.save(
      tf.io.withSaveHandler(async (artifacts) => {
        saved = artifacts;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    // The topology is plain JSON: it survives a string round trip.
    const topology = JSON.parse(JSON.stringify(saved!.modelTopology));
    const loaded = await loadLayersModel(tf.io.fromMemory({ ...saved!, modelTopology: topology }));

    expect(loaded.layers.map((l) => l.name)).toEqual(m.layers.map((l) => l.name));
    expect(loaded.getLayer('lrn')).toBeInstanceOf(LocalResponseNormalization);
    expect(loaded.getLayer('a_0_pad')).toBeInstanceOf(ZeroPadChannels);
    expect((loaded.getLayer('a_0_pad') as ZeroPadChannels).channelPadding).toBe('both');
    expect((loaded.getLayer('widen') as ZeroPadChannels).channelPadding).toBe('end');
    // An end-padded layer's configuration is what it was before channelPadding existed.
    expect(Object.keys(m.getLayer('widen').getConfig()).sort()).toEqual(
      ['name', 'outChannels', 'stride', 'trainable'].sort(),
    );
    expect((loaded.getLayer('lrn') as LocalResponseNormalization).alpha).toBe(1e-3);
    expect(loaded.getLayer('conv1_bn').getConfig().epsilon).toBe(1e-5);

    const original = new Map(m.weights.map((w) => [w.originalName, w.read().dataSync()]));
    expect(original.size).toBe(m.weights.length);
    expect(loaded.weights.length).toBe(m.weights.length);
    for (const w of loaded.weights) {
      expect(Array.from(w.read().dataSync())).toEqual(Array.from(original.get(w.originalName)!));
    }

    const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 42);
    const a = m.predict(x) as tf.Tensor;
    const b = loaded.predict(x) as tf.Tensor;
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    tf.dispose([x, a, b]);
    m.dispose();
    loaded.dispose();
  });
});

describe('tensor leaks', () => {
  it('build, predict and dispose leave tf.memory().numTensors unchanged', () => {
    const before = tf.memory().numTensors;
    const m = everyBlock();
    const x = tf.ones([1, 8, 8, 3]);
    const y = m.predict(x) as tf.Tensor;
    const trained = m.apply(x, { training: true }) as tf.Tensor;
    tf.dispose([x, y, trained]);
    m.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
