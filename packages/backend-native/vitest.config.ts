import { packageTests } from '../../vitest.shared.ts';

export default packageTests('backend-native', { testTimeout: 120_000 });
