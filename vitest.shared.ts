import { defineProject } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const setupFile = fileURLToPath(new URL('./test-utils/setup-cpu-backend.ts', import.meta.url));

/** One vitest project per package, all on the tfjs `cpu` backend. */
export function packageTests(name: string, overrides: { testTimeout?: number } = {}) {
  return defineProject({
    test: {
      name,
      include: ['test/**/*.test.ts'],
      setupFiles: [setupFile],
      environment: 'node',
      testTimeout: overrides.testTimeout ?? 60_000,
      hookTimeout: 120_000,
      pool: 'forks',
    },
  });
}
