import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { decodePredictions, IMAGENET_CLASSES, IMAGENET_WNIDS, imagenetClass } from '../src';

describe('the 1000 ILSVRC-2012 classes', () => {
  it('has 1000 classes in sorted wnid order', () => {
    expect(IMAGENET_CLASSES).toHaveLength(1000);
    expect([...IMAGENET_WNIDS].sort()).toEqual(IMAGENET_WNIDS);
    expect(new Set(IMAGENET_WNIDS).size).toBe(1000);
  });

  // Golden values: the class indices every framework (Keras'
  // imagenet_class_index.json, torchvision) uses.
  it.each([
    ['n01440764', 0, 'tench'],
    ['n01443537', 1, 'goldfish'],
    ['n01484850', 2, 'great white shark'],
    ['n02099601', 207, 'golden retriever'],
    ['n02119789', 278, 'kit fox'],
    ['n02123045', 281, 'tabby'],
    ['n02124075', 285, 'Egyptian cat'],
    ['n02391049', 340, 'zebra'],
    ['n07753592', 954, 'banana'],
    ['n15075141', 999, 'toilet tissue'],
  ])('%s is class %i (%s)', (wnid, index, name) => {
    expect(imagenetClass(wnid)).toMatchObject({ index, wnid, name });
    expect(IMAGENET_CLASSES[index].wnid).toBe(wnid);
  });

  it('keeps every WordNet name', () => {
    expect(IMAGENET_CLASSES[0].names).toEqual(['tench', 'Tinca tinca']);
  });

  it('names an unknown wnid', () => {
    expect(() => imagenetClass('n99999999')).toThrow(
      /"n99999999" is not one of the 1000 ILSVRC-2012 wnids/,
    );
  });
});

describe('decodePredictions', () => {
  const scores = () => {
    const p = new Float32Array(1000).fill(0.0001);
    p[281] = 0.6; // tabby
    p[285] = 0.3; // Egyptian cat
    p[954] = 0.05; // banana
    return p;
  };

  it('returns the top-k rows, best first', () => {
    const rows = decodePredictions(scores(), 3);
    expect(rows.map((r) => [r.index, r.wnid, r.name])).toEqual([
      [281, 'n02123045', 'tabby'],
      [285, 'n02124075', 'Egyptian cat'],
      [954, 'n07753592', 'banana'],
    ]);
    expect(rows[0].probability).toBeCloseTo(0.6, 6);
  });

  it('accepts a [1000] tensor and a [batch, 1000] tensor', () => {
    const one = tf.tensor1d(scores());
    expect(decodePredictions(one, 1)[0].index).toBe(281);
    const second = new Float32Array(1000);
    second[7] = 1;
    const batch = tf.tensor2d([...scores(), ...second], [2, 1000]);
    const rows = decodePredictions(batch, 2);
    expect(rows.map((r) => r[0].index)).toEqual([281, 7]);
    expect(rows[1][1].probability).toBe(0);
    tf.dispose([one, batch]);
  });

  it('defaults to the top 5', () => {
    expect(decodePredictions(scores())).toHaveLength(5);
  });

  it('rejects a wrong shape, naming it', () => {
    expect(() => decodePredictions(new Float32Array(10))).toThrow(
      /expected probabilities of shape \[1000\] or \[batch, 1000\].*received shape \[10\]/,
    );
    expect(() => decodePredictions(scores(), 0)).toThrow(
      /option "topK" must be a positive integer; received 0/,
    );
  });
});
