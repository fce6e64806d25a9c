import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // Some unit tests start threads and loopback servers; a busy CI machine is slower.
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'workflow',
          include: ['test/workflow/**/*.test.ts'],
          // Temporal's time-skipping test server (installed by scripts/install.sh) with stub
          // activities: the workflow's own logic, no stack needed.
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // Starts (or reuses) the Temporal dev server and the storage emulators once.
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          // Two cores: files share one stack and one dev server, run them one after another.
          fileParallelism: false,
        },
      },
    ],
  },
});
