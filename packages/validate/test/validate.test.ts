import { describe, expect, it } from 'vitest';
import {
  checkKnownOptions,
  checkOneOf,
  checkOptions,
  checkPair,
  checkPositiveInt,
  checkRange,
  checkRgb,
  checkSize,
  describeValue,
  oneOf,
  optional,
  optionKeys,
  resolveOptions,
  unchecked,
  withDefault,
  type OptionSpec,
} from '../src';

interface Opts {
  size: number;
  mode?: 'a' | 'b';
  seed?: number;
  log?: (m: string) => void;
}

const SPEC = {
  size: checkPositiveInt,
  mode: withDefault(oneOf(['a', 'b'] as const), 'a'),
  seed: optional(checkPositiveInt),
  log: unchecked<((m: string) => void) | undefined>(),
} satisfies OptionSpec<Opts>;

describe('checkOptions', () => {
  it('derives the allowed keys from the spec and applies defaults', () => {
    expect(optionKeys(SPEC)).toEqual(['size', 'mode', 'seed', 'log']);
    expect(checkOptions('f', { size: 2 }, SPEC)).toEqual({
      size: 2,
      mode: 'a',
      seed: undefined,
      log: undefined,
    });
  });

  it('names the function, the option, the value and what is allowed', () => {
    expect(() => checkOptions('f', { size: 0 }, SPEC)).toThrow(
      'f: option "size" must be a positive integer; received 0.',
    );
    expect(() => checkOptions('f', { size: 1, mode: 'c' }, SPEC)).toThrow(
      'f: option "mode" must be one of "a", "b"; received "c".',
    );
  });

  it('rejects unknown keys, naming the new spelling of a renamed option', () => {
    expect(() => checkOptions('f', { size: 1, sise: 2 }, SPEC)).toThrow(
      'f: unknown option "sise"; allowed options are "size", "mode", "seed", "log".',
    );
    expect(() =>
      checkOptions('f', { size: 1, modus: 'a' }, SPEC, { renamed: { modus: 'mode' } }),
    ).toThrow('allowed options are "size", "mode", "seed", "log" ("modus" is now "mode").');
    expect(() =>
      checkOptions('f', { size: 1, other: 1 }, SPEC, { allowed: ['other'] }),
    ).not.toThrow();
    expect(() => checkKnownOptions('f', [1], ['a'])).toThrow(
      'f: options must be an object; received [1].',
    );
  });

  it('resolveOptions reads only the spec keys', () => {
    expect(resolveOptions('f', { size: 3, other: true }, { size: SPEC.size })).toEqual({ size: 3 });
  });
});

describe('value checks', () => {
  it('pairs, sizes, ranges, RGB triples and one-of', () => {
    expect(checkPair('f', 'k', 3, checkPositiveInt)).toEqual([3, 3]);
    expect(() => checkPair('f', 'k', [1, 2, 3], checkPositiveInt)).toThrow(
      'option "k" must be an integer or a [height, width] pair',
    );
    expect(checkSize('f', 's', [2, 3])).toEqual([2, 3]);
    expect(() => checkRange('f', 'r', [2, 1], checkPositiveInt)).toThrow('with min <= max');
    expect(() => checkRgb('f', 'std', [1, 0, 1], true)).toThrow('three positive numbers');
    expect(checkOneOf('f', 'n', null, ['x', null])).toBe(null);
  });

  it('describes values readably', () => {
    expect(describeValue('a')).toBe('"a"');
    expect(describeValue([1, 'b'])).toBe('[1, "b"]');
    expect(describeValue(new Float32Array(2))).toBe('a Float32Array');
    expect(describeValue({ dataId: {}, shape: [2, 3] })).toBe('a tf.Tensor of shape [2,3]');
  });
});
