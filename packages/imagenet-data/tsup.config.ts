import { packageBuild } from '../../tsup.shared.ts';

// Two entries: the package, and `./browser`, the part without Node modules.
// `shims` gives the CJS build an `import.meta.url`, which the JPEG addon's loader uses.
export default packageBuild({ entry: ['src/index.ts', 'src/browser.ts'], shims: true });
