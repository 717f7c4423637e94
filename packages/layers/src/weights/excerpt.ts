/** Longest piece of file content quoted in an error or warning message, in characters. */
export const EXCERPT_CHARACTERS = 200;

/**
 * `text` cut to its first {@link EXCERPT_CHARACTERS} characters, then an
 * ellipsis and the total length, so that messages quoting untrusted content
 * (a key name, a header value) stay short.
 *
 * @param text - Any string, possibly megabytes long.
 * @returns `text` itself when short enough, else e.g. `xxx… (20000000 characters)`.
 */
export function excerpt(text: string): string {
  if (text.length <= EXCERPT_CHARACTERS) return text;
  let cut = EXCERPT_CHARACTERS;
  const last = text.charCodeAt(cut - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut--; // do not split a surrogate pair
  return `${text.slice(0, cut)}… (${text.length} characters)`;
}

/**
 * A name from a file, double-quoted and cut with {@link excerpt}.
 *
 * @param name - A key name, a dtype, …
 * @returns `"name"`, shortened when long.
 */
export function quote(name: string): string {
  return `"${excerpt(name)}"`;
}

/**
 * A JSON value from a file, as JSON text cut with {@link excerpt}.
 *
 * @param value - A value parsed from a header (bounded in depth by the reader).
 * @returns Its JSON text (`undefined` for a missing value), shortened when long.
 */
export function show(value: unknown): string {
  return excerpt(JSON.stringify(value) ?? 'undefined');
}
