import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'connectors/**/*.test.ts', 'test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
    // graphql-http must share the test files' copy of graphql (graphql has a CJS and an ESM build;
    // a schema from one is refused by the other: "Cannot use GraphQLSchema from another realm")
    server: { deps: { inline: ['graphql-http'] } },
  },
});
