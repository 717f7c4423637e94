import { defineConfig } from 'vitest/config';

// Lets `npx vitest` at the root run every package's project at once; `npm test`
// goes through turbo, which runs each package's own `vitest run`. Neither runs
// the consumer tests: `npm run test:consumer` does (see vitest.shared.ts).
export default defineConfig({
  test: {
    projects: ['packages/*'],
  },
});
