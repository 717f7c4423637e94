import { consumerTests } from '../../vitest.shared.ts';

// `npm run test:consumer`: every package packed and installed into a fresh
// project, which a strict `nodenext` TypeScript compile then type-checks.
export default consumerTests('cli');
