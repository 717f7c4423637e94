import { defineProject } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const setupFile = fileURLToPath(new URL('./test-utils/setup-cpu-backend.ts', import.meta.url));

/**
 * The consumer tests (`test/consumer.test.ts`: `npm pack` the package and
 * `npm install` it into a fresh project) need npm and the network or its cache,
 * and take tens of seconds; they are their own turbo task, `test:consumer`
 * (each package's `vitest.consumer.config.ts`), not part of `npm test`.
 */
const consumerTestFiles = ['test/consumer.test.ts'];

function project(name: string, include: string[], exclude: string[], testTimeout: number) {
  return defineProject({
    test: {
      name,
      include,
      exclude,
      setupFiles: [setupFile],
      environment: 'node',
      testTimeout,
      hookTimeout: 120_000,
      pool: 'forks',
    },
  });
}

/** One vitest project per package, all on the tfjs `cpu` backend: the unit tests (`npm test`). */
export function packageTests(name: string, overrides: { testTimeout?: number } = {}) {
  return project(
    name,
    ['test/**/*.test.ts'],
    ['**/node_modules/**', ...consumerTestFiles],
    overrides.testTimeout ?? 60_000,
  );
}

/** The package's consumer tests only (`npm run test:consumer`, turbo task `test:consumer`). */
export function consumerTests(name: string) {
  return project(`${name} (consumer)`, consumerTestFiles, ['**/node_modules/**'], 300_000);
}
