import { packageBuild } from '../../tsup.shared.ts';

// `shims` gives the CJS build an `import.meta.url`, which the JPEG addon's loader uses.
export default packageBuild({ shims: true });
