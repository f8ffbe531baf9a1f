import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Tests and examples import `rampart/...` as users do; here those names resolve to
// the TypeScript sources (the package test checks the built files separately).
const root = fileURLToPath(new URL('.', import.meta.url));
const manifest = JSON.parse(readFileSync(new URL('package.json', import.meta.url), 'utf8')) as {
  exports: Record<string, string | { default: string }>;
};
const alias = Object.entries(manifest.exports)
  .filter(([, target]) => typeof target === 'object')
  .map(([subpath, target]) => {
    const built = (target as { default: string }).default;
    const source = built.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts');
    const name = subpath === '.' ? 'rampart' : `rampart/${subpath.slice(2)}`;
    return { find: new RegExp(`^${name.replace(/[/.]/g, '\\$&')}$`), replacement: `${root}${source}` };
  });

export default defineConfig({
  resolve: { alias },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Browser tests start Chromium; two workers fit a 2-core machine.
    maxWorkers: 2,
  },
});
