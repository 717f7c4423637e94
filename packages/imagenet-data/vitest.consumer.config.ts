import { consumerTests } from '../../vitest.shared.ts';

// `npm run test:consumer`: the package packed and installed into a fresh project.
export default consumerTests('imagenet-data');
