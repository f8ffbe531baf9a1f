/**
 * The core speaks Web standards, and the compiler proves it: `tsconfig.core.json`
 * type-checks the core without Node's types. These tests keep that proof honest:
 * it covers every core file, and it really does reject Node code.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

describe('the core proof', () => {
  it('excludes only the Node-specific files, which are named as such', () => {
    const config = JSON.parse(readFileSync(join(root, 'tsconfig.core.json'), 'utf8').replace(/^\s*\/\/.*$/gm, '')) as { exclude: string[] };
    expect(config.exclude.sort()).toEqual(
      [
        'src/**/*.test.ts',
        'src/**/*.node.ts',
        'src/adapters/node.ts',
        'src/adapters/express.ts',
        'src/adapters/fastify.ts',
        'src/adapters/hono-node.ts',
        'src/adapters/_node/**',
        'src/cli/**',
      ].sort(),
    );
  });

  it('fails the build on a node: import, Buffer or process in core code', () => {
    const directory = mkdtempSync(join(tmpdir(), 'rampart-core-proof-'));
    try {
      writeFileSync(
        join(directory, 'leak.ts'),
        "import { readFileSync } from 'node:fs';\nexport const leak = [readFileSync, Buffer.from('x'), process.env];\n",
      );
      writeFileSync(
        join(directory, 'tsconfig.json'),
        JSON.stringify({ extends: join(root, 'tsconfig.core.json'), include: ['leak.ts'], exclude: [] }),
      );
      let output = '';
      try {
        execFileSync(process.execPath, [tsc, '-p', join(directory, 'tsconfig.json')], { encoding: 'utf8' });
      } catch (error) {
        output = String((error as { stdout?: string }).stdout);
      }
      expect(output).toContain("Cannot find name 'node:fs'");
      expect(output).toContain("Cannot find name 'Buffer'");
      expect(output).toContain("Cannot find name 'process'");
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
