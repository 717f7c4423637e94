import { packageTests } from '../../vitest.shared.ts';

export default packageTests('vgg', { testTimeout: 180_000 });
