import { defineConfig } from 'tsup';
import { BUNDLED_INTERNALS, packageBuild } from '../../tsup.shared.ts';

export default [
  packageBuild(),
  // The `convnets` command (bin/convnets.js runs it): ESM only, with its shebang.
  defineConfig({
    entry: { cli: 'src/main.ts' },
    format: ['esm'],
    dts: false,
    sourcemap: true,
    clean: false,
    target: 'es2022',
    splitting: false,
    noExternal: BUNDLED_INTERNALS,
    banner: { js: '#!/usr/bin/env node' },
  }),
];
