import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { expect } from 'vitest';
import { backendName, register } from '../src';

export { backendName };

/** Registers the native backend; the tests cannot run without it. */
export async function ensureNative(): Promise<void> {
  if (!(await register())) throw new Error('the native addon did not load');
}

/** Runs fn on a backend and returns its tensors' values, disposing everything it made. */
export async function on<T extends tf.Tensor | tf.Tensor[]>(
  backend: string,
  fn: () => T,
): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const result = tf.tidy(fn);
  const tensors = Array.isArray(result) ? result : [result];
  const values = tensors.map((t) => t.dataSync() as Float32Array);
  tf.dispose(tensors);
  return values;
}

/** A deterministic pseudo-random generator (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform values in [-1, 1) from a seeded generator. */
export function randomValues(size: number, seed: number): Float32Array {
  const next = rng(seed);
  return Float32Array.from({ length: size }, () => next() * 2 - 1);
}

/**
 * Asserts two float32 results agree to within float32 rounding of sums of
 * `terms` products: |a − b| ≤ tol · (1 + |b|), elementwise.
 */
export function expectClose(actual: Float32Array, expected: Float32Array, terms = 1, what = '') {
  expect(actual.length, what).toBe(expected.length);
  const tol = 2e-6 * Math.sqrt(Math.max(terms, 1)) + 1e-6;
  let worst = 0;
  let at = -1;
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - expected[i]) / (1 + Math.abs(expected[i]));
    if (!(err <= worst)) {
      worst = err;
      at = i;
    }
  }
  expect(
    worst,
    `${what}: worst relative error at ${at}: ${actual[at]} vs ${expected[at]}`,
  ).toBeLessThanOrEqual(tol);
}

/** Whether two arrays are bitwise identical. */
export function bitwiseEqual(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return x.every((v, i) => v === y[i]);
}
