import { packageTests } from '../vitest.shared.ts';

export default packageTests('docs', { testTimeout: 120_000 });
