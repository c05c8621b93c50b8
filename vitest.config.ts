import { defineConfig } from 'vitest/config';

// Tests assert behaviour, not speed: a generous per-test timeout keeps them from failing on a
// loaded 2-core CI machine. Speed is measured by `x86vmx bench`, not here.
export default defineConfig({
  test: {
    testTimeout: 300_000,
    hookTimeout: 300_000,
    include: ['tests/**/*.test.ts'],
  },
});
