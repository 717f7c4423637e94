import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadAddon } from '../src/addon';
import { BufferPool } from '../src/pool';
import { backendName, ensureNative } from './helpers';

beforeAll(ensureNative);

describe('BufferPool', () => {
  it('hands a released buffer back out for the same length, and only then', () => {
    const pool = new BufferPool(1 << 20, 4);
    const a = pool.take(100);
    pool.stored(a);
    pool.released(a);
    expect(pool.freeBytes).toBe(400);
    expect(pool.take(99)).not.toBe(a);
    expect(pool.take(100)).toBe(a);
    expect(pool.freeBytes).toBe(0);
    expect(pool.reused).toBe(1);
  });

  it('waits until every entry holding the buffer or a view of it is released', () => {
    const pool = new BufferPool(1 << 20, 4);
    const a = pool.take(64);
    pool.stored(a);
    const view = a.subarray(8, 16);
    pool.stored(view);
    pool.released(a);
    expect(pool.take(64)).not.toBe(a);
    pool.released(view);
    expect(pool.take(64)).toBe(a);
  });

  it('never recycles a buffer whose values were handed out', () => {
    const pool = new BufferPool(1 << 20, 4);
    const a = pool.take(64);
    pool.stored(a);
    pool.escaped(a);
    pool.released(a);
    expect(pool.freeBytes).toBe(0);
    expect(pool.take(64)).not.toBe(a);
  });

  it('takes a freed buffer back out of the pool when it is stored again', () => {
    const pool = new BufferPool(1 << 20, 4);
    const a = pool.take(64);
    pool.stored(a);
    pool.released(a);
    pool.stored(a); // a kernel reused a disposed intermediate's values
    expect(pool.freeBytes).toBe(0);
    expect(pool.take(64)).not.toBe(a);
  });

  it('ignores arrays it did not allocate, small buffers and a zero capacity', () => {
    const pool = new BufferPool(1 << 20, 16);
    const user = new Float32Array(64);
    pool.stored(user);
    pool.released(user);
    expect(pool.take(64)).not.toBe(user);
    const small = pool.take(8);
    pool.stored(small);
    pool.released(small);
    expect(pool.take(8)).not.toBe(small);
    const off = new BufferPool(0);
    const b = off.take(4096);
    off.stored(b);
    off.released(b);
    expect(off.take(4096)).not.toBe(b);
  });

  it('keeps at most its capacity in free buffers', () => {
    const pool = new BufferPool(1000, 4);
    const [a, b] = [pool.take(200), pool.take(200)];
    for (const t of [a, b]) {
      pool.stored(t);
      pool.released(t);
    }
    expect(pool.freeBytes).toBe(800);
    const c = pool.take(100);
    pool.stored(c);
    pool.released(c); // 800 + 400 > 1000: discarded, like b before it
    expect(pool.freeBytes).toBe(800);
    pool.flushDiscards();
    expect(pool.discarded).toBe(2);
    pool.clear();
    expect(pool.freeBytes).toBe(0);
  });

  it('never pools a buffer longer than maxLength, and discards every buffer it does not keep', () => {
    const discarded: Float32Array[] = [];
    const pool = new BufferPool(1 << 20, 4, 100, (v) => discarded.push(v));
    const [big, fits] = [pool.take(101), pool.take(100)];
    for (const t of [big, fits]) {
      pool.stored(t);
      pool.released(t);
    }
    // Discards wait for the next take(): nothing is discarded until then.
    expect(discarded).toEqual([]);
    expect(pool.freeBytes).toBe(400);
    expect(pool.take(101)).not.toBe(big);
    expect(discarded).toEqual([big]);
    expect(pool.take(100)).toBe(fits);
    // Still held through a view: not discarded until the last holder lets go.
    const held = pool.take(200);
    pool.stored(held);
    pool.stored(held.subarray(0, 10));
    pool.released(held);
    pool.take(8);
    expect(discarded).toHaveLength(1);
    pool.released(held.subarray(0, 10));
    pool.flushDiscards();
    expect(discarded).toEqual([big, held]);
    // Values handed out are never discarded.
    const read = pool.take(300);
    pool.stored(read);
    pool.escaped(read);
    pool.released(read);
    pool.take(8);
    expect(discarded).toHaveLength(2);
    expect(pool.discarded).toBe(2);
  });

  it('does not discard a buffer stored again before the next take (a kernel reusing a disposed intermediate)', () => {
    const discarded: Float32Array[] = [];
    const pool = new BufferPool(1 << 20, 4, 100, (v) => discarded.push(v));
    const a = pool.take(500);
    pool.stored(a);
    pool.released(a); // the intermediate is disposed …
    pool.stored(a); // … and its values become the kernel's output
    pool.take(8);
    expect(discarded).toEqual([]);
    pool.released(a);
    pool.take(8);
    expect(discarded).toEqual([a]);
  });
});

describe("the addon's discard", () => {
  it('returns the whole pages inside a buffer to the system, which then read as zeros', () => {
    const { addon } = loadAddon();
    const page = 4096;
    const a = new Float32Array((64 * page) / 4).fill(7);
    const bytes = addon!.discard!(a);
    // Whole pages only: all 64 when the buffer starts on a page boundary, else 63.
    expect([63 * page, 64 * page]).toContain(bytes);
    const zeros = a.reduce((n, v) => n + (v === 0 ? 1 : 0), 0);
    expect(zeros).toBe(bytes / 4);
    // What is left of the partial pages at either end is untouched.
    expect(a.filter((v) => v !== 0).every((v) => v === 7)).toBe(true);
    expect(addon!.discard!(new Float32Array(10))).toBe(0);
  });
});

describe('the backend recycles native outputs safely', () => {
  const n = 64 * 1024;
  const ramp = (offset: number) =>
    tf.tensor1d(Float32Array.from({ length: n }, (_, i) => i + offset));

  it('reuses the buffers of disposed outputs', async () => {
    await tf.setBackend(backendName);
    const pool = (tf.backend() as unknown as { pool: BufferPool }).pool;
    const a = ramp(0);
    const before = pool.reused;
    for (let i = 0; i < 5; i++) tf.tidy(() => void tf.add(tf.mul(a, 2), 1));
    expect(pool.reused).toBeGreaterThan(before);
    a.dispose();
  });

  it('does not overwrite values a caller read out before disposing the tensor', async () => {
    await tf.setBackend(backendName);
    const a = ramp(0);
    const b = tf.add(a, 1);
    const values = b.dataSync();
    b.dispose();
    for (let i = 0; i < 3; i++) tf.tidy(() => void tf.mul(a, -5));
    expect(values[0]).toBe(1);
    expect(values[n - 1]).toBe(n);
    a.dispose();
  });

  it('keeps a view alive after the tensor it was sliced from is disposed', async () => {
    await tf.setBackend(backendName);
    const a = ramp(0);
    const b = tf.add(a, 1);
    const half = tf.slice(b, [0], [n / 2]); // a contiguous slice: a view of b's buffer on cpu
    b.dispose();
    for (let i = 0; i < 3; i++) tf.tidy(() => void tf.mul(a, -5));
    const v = half.dataSync();
    expect(v[0]).toBe(1);
    expect(v[n / 2 - 1]).toBe(n / 2);
    tf.dispose([a, half]);
  });

  it('gives correct results when every output comes from the pool', async () => {
    await tf.setBackend(backendName);
    const a = ramp(0);
    const expected = Float32Array.from({ length: n }, (_, i) => (i * 3 - 2) * 0.5);
    for (let i = 0; i < 4; i++) {
      const y = tf.tidy(() => tf.mul(tf.sub(tf.mul(a, 3), 2), 0.5));
      expect(y.dataSync()).toEqual(expected);
      y.dispose();
    }
    a.dispose();
  });

  it('leaks no tensors over a loop', async () => {
    await tf.setBackend(backendName);
    const a = ramp(0);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) tf.tidy(() => void tf.sum(tf.relu(tf.sub(a, n / 2))));
    expect(tf.memory().numTensors).toBe(before);
    a.dispose();
  });
});
