import { packageTests } from '../../vitest.shared.ts';

export default packageTests('resnet', { testTimeout: 120_000 });
