import { defineProject } from 'vitest/config';

// No tfjs here: the module checks plain values.
export default defineProject({
  test: { name: 'validate', include: ['test/**/*.test.ts'], environment: 'node' },
});
