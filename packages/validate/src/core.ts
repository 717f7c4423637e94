// The types every check shares, and the one error wording.

/**
 * Checks one option's value and returns it (typed, or with a default applied);
 * throws an `Error` naming `where`, the option, the value and what is allowed.
 */
export type Check<T> = (where: string, option: string, value: unknown) => T;

/**
 * One {@link Check} per key of the options type `O`, no more and no fewer.
 * Use as `const SPEC = { … } satisfies OptionSpec<MyOptions>`.
 */
export type OptionSpec<O> = { readonly [K in keyof O]-?: Check<O[K] | undefined> };

/** What {@link checkOptions} returns for a spec: each option as its check returned it. */
export type Resolved<S> = { -readonly [K in keyof S]: S[K] extends Check<infer T> ? T : never };

/** Old option names mapped to their new ones, for the unknown-option error. */
export type Renamed = Readonly<Record<string, string>>;

/**
 * A short, readable description of a value for error messages: strings
 * quoted, arrays and plain objects as JSON, typed arrays and tensors by kind
 * and shape.
 *
 * @param value - Anything.
 * @returns The description.
 *
 * @example
 * ```ts
 * describeValue('a'); // '"a"'
 * describeValue([1, 2]); // '[1, 2]'
 * ```
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(describeValue).join(', ')}]`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  if (value !== null && typeof value === 'object') {
    if ('dataId' in value && 'shape' in value) {
      return `a tf.Tensor of shape [${String((value as { shape: number[] }).shape)}]`;
    }
    try {
      return JSON.stringify(value);
    } catch {
      return String(value);
    }
  }
  return String(value);
}

/**
 * Throws the one error wording:
 * `<where>: option "<option>" must be <expected>; received <value>.`
 *
 * @param where - The caller's name, e.g. `convBn`.
 * @param option - The option's name.
 * @param value - The value received.
 * @param expected - What is allowed, e.g. `a positive integer`.
 * @throws Error, always.
 *
 * @example
 * ```ts
 * if (size % 2 === 0) fail('myLayer', 'size', size, 'an odd positive integer');
 * ```
 */
export function fail(where: string, option: string, value: unknown, expected: string): never {
  throw new Error(
    `${where}: option "${option}" must be ${expected}; received ${describeValue(value)}.`,
  );
}
