import { describe, expect, it } from 'vitest';
import { readSafetensors } from '../src';
import { file, thrown } from './helpers';

// Hostile inputs found by the test pass of issue #13: each of these failed on
// the reader as it was before, except the guard marked below.

const entry = (shape: string, offsets = '[0, 4]', dtype = '"F32"') =>
  `{"dtype": ${dtype}, "shape": ${shape}, "data_offsets": ${offsets}}`;

describe('readSafetensors on hostile headers', () => {
  it('refuses a deeply nested shape with a clear error, not a stack overflow', () => {
    const depth = 200_000;
    const header = `{"a": ${entry('['.repeat(depth) + ']'.repeat(depth))}}`;
    const error = thrown(() => readSafetensors(file(header, new Uint8Array(4))));
    expect(error).not.toBeInstanceOf(RangeError);
    expect(error.message).toMatch(
      /the header nests JSON \d+ levels deep at character \d+; at most 8 expected/,
    );
    expect(error.message.length).toBeLessThan(500);
  });

  it('refuses deep nesting anywhere in the header, metadata included', () => {
    const header = `{"__metadata__": {"x": ${'['.repeat(100)}${']'.repeat(100)}}}`;
    expect(() => readSafetensors(file(header))).toThrow(/nests JSON 9 levels deep/);
  });

  it('refuses a shape nested one level as not flat', () => {
    expect(() => readSafetensors(file(`{"a": ${entry('[[1]]')}}`, new Uint8Array(4)))).toThrow(
      /"a" has shape \[\[1\]\]; expected a flat array of non-negative safe integers/,
    );
  });

  it.each([
    [
      'tensor names',
      `{"a": ${entry('[1]')}, "a": ${entry('[1]')}}`,
      /duplicate key "a" in the header/,
    ],
    [
      'escaped spellings of one name',
      `{"a": ${entry('[1]')}, "\\u0061": ${entry('[1]')}}`,
      /duplicate key "a"/,
    ],
    [
      'fields of an entry',
      `{"a": {"dtype": "F32", "dtype": "F64", "shape": [1], "data_offsets": [0, 4]}}`,
      /duplicate key "dtype" in the header/,
    ],
    [
      'metadata keys',
      `{"__metadata__": {"k": "1", "k": "2"}, "a": ${entry('[1]')}}`,
      /duplicate key "k"/,
    ],
  ])('refuses duplicate %s (JSON.parse would keep the last)', (_what, header, message) => {
    expect(() => readSafetensors(file(header, new Uint8Array(4)))).toThrow(message);
  });

  // A guard for the duplicate-key check (passed before it too).
  it('does not mistake equal strings in different objects, or values, for duplicate keys', () => {
    const header = `{"__metadata__": {"a": "a"}, "a": ${entry('[1]')}, "b": ${entry('[1]', '[4, 8]')}}`;
    const { tensors, metadata } = readSafetensors(file(header, new Uint8Array(8)));
    expect([...tensors.keys()]).toEqual(['a', 'b']);
    expect(metadata).toEqual({ a: 'a' });
  });

  const huge = 'x'.repeat(20_000_000);
  it.each([
    ['a huge tensor name', `{"${huge}": ${entry('[1]', '[0, 4]', '"F8"')}}`],
    ['a huge dtype', `{"a": ${entry('[1]', '[0, 4]', `"${huge}"`)}}`],
    ['a huge metadata value type', `{"__metadata__": {"${huge}": 1}}`],
    ['a huge shape', `{"a": ${entry(`[${'1,'.repeat(5_000_000)}2]`)}}`],
    ['huge offsets', `{"a": ${entry('[1]', `[${'0,'.repeat(5_000_000)}4]`)}}`],
  ])('cuts %s in an error message to a short excerpt with its length', (_what, header) => {
    const error = thrown(() => readSafetensors(file(header, new Uint8Array(4))));
    expect(error.message.length).toBeLessThan(1000);
    expect(error.message).toMatch(/… \(\d{7,} characters\)/);
  });

  it('refuses metadata values that are not strings', () => {
    expect(() => readSafetensors(file(`{"__metadata__": {"k": 1}}`))).toThrow(
      /"__metadata__" value of "k" is 1; expected a string/,
    );
  });

  it('refuses a dtype named after an Object.prototype member', () => {
    expect(() =>
      readSafetensors(file(`{"a": ${entry('[1]', '[0, 4]', '"constructor"')}}`, new Uint8Array(4))),
    ).toThrow(/"a" has dtype "constructor"; supported: F64/);
  });

  it('accepts an empty tensor whose other dimensions are large', () => {
    const { tensors } = readSafetensors(file(`{"a": ${entry('[1000000000000, 0]', '[0, 0]')}}`));
    expect(tensors.get('a')!.shape).toEqual([1e12, 0]);
    expect(tensors.get('a')!.bytes.byteLength).toBe(0);
  });
});
