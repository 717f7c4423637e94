import { defineConfig, type Options } from 'tsup';

/**
 * The one build recipe every package uses: ESM + CJS + `.d.ts`/`.d.cts`,
 * with peer and regular dependencies left external. `@convnets/validate`, the
 * private option-checking module, is bundled into each package (code and
 * types), so it is never a published dependency.
 */
export const BUNDLED_INTERNALS = ['@convnets/validate'];

export function packageBuild(overrides: Partial<Options> = {}) {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: { resolve: BUNDLED_INTERNALS },
    sourcemap: true,
    clean: true,
    target: 'es2022',
    splitting: false,
    treeshake: true,
    noExternal: BUNDLED_INTERNALS,
    ...overrides,
  });
}
