import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import type { ArrayDataset } from '../src';

/** A tiny convnet for 8×8 images: conv(4) → [BN] → ReLU → conv(4, stride 2) → [BN] → ReLU → GAP → [dropout] → dense. */
export function tinyNet(
  options: {
    classes?: number;
    batchNorm?: boolean;
    seed?: number;
    softmax?: boolean;
    dropout?: number;
  } = {},
): tfl.LayersModel {
  const { classes = 3, batchNorm = true, seed = 1, softmax = false, dropout = 0 } = options;
  const x = tfl.input({ shape: [8, 8, 3] });
  let y = tfl.layers
    .conv2d({
      filters: 4,
      kernelSize: 3,
      padding: 'same',
      useBias: !batchNorm,
      kernelInitializer: tfl.initializers.glorotUniform({ seed }),
    })
    .apply(x) as tfl.SymbolicTensor;
  if (batchNorm)
    y = tfl.layers.batchNormalization({ momentum: 0.9 }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.reLU().apply(y) as tfl.SymbolicTensor;
  y = tfl.layers
    .conv2d({
      filters: 4,
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      useBias: !batchNorm,
      kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 1 }),
    })
    .apply(y) as tfl.SymbolicTensor;
  if (batchNorm)
    y = tfl.layers.batchNormalization({ momentum: 0.9 }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.reLU().apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.globalAveragePooling2d({}).apply(y) as tfl.SymbolicTensor;
  if (dropout > 0) y = tfl.layers.dropout({ rate: dropout }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers
    .dense({
      units: classes,
      activation: softmax ? 'softmax' : 'linear',
      kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 2 }),
    })
    .apply(y) as tfl.SymbolicTensor;
  return tfl.model({ inputs: x, outputs: y });
}

/** A learnable in-memory dataset of 8×8 images: class k has a bright band at row/column k. */
export function tinyDataset(n: number, classes = 3, seed = 0): ArrayDataset {
  const size = 8 * 8 * 3;
  const images = new Float32Array(n * size);
  const labels = new Int32Array(n);
  let s = seed * 7919 + 17;
  const rand = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let i = 0; i < n; i++) {
    const label = i % classes;
    labels[i] = label;
    for (let y = 0; y < 8; y++)
      for (let x = 0; x < 8; x++)
        for (let c = 0; c < 3; c++) {
          const on = label === 0 ? y === 3 || y === 4 : label === 1 ? x === 3 || x === 4 : x === y;
          images[i * size + (y * 8 + x) * 3 + c] = (on ? 1 : 0) + 0.3 * (rand() - 0.5);
        }
  }
  return {
    images,
    imageShape: [8, 8, 3],
    labels,
    classes: Array.from({ length: classes }, (_, k) => `c${k}`),
  };
}

export function tempDir(prefix = 'convnets-trainer-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A function giving a fresh temporary folder per call; all are deleted after the file's tests. */
export function tempDirs(): () => string {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  return () => {
    const d = tempDir();
    dirs.push(d);
    return d;
  };
}

/** All of a model's weights as plain arrays (for bitwise comparison). */
export function snapshot(model: tfl.LayersModel): Float32Array[] {
  return model.weights.map((w) => Float32Array.from(w.read().dataSync() as Float32Array));
}

/** Copies weights from one model into another of the same architecture. */
export function copyWeights(from: tfl.LayersModel, to: tfl.LayersModel): void {
  tf.tidy(() => to.weights.forEach((w, i) => w.write(from.weights[i].read().clone())));
}
