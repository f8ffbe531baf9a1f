import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'bench/.tmp/', 'data/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        console: 'readonly',
        process: 'readonly',
        URL: 'readonly',
        Response: 'readonly',
        Request: 'readonly',
        Headers: 'readonly',
        fetch: 'readonly',
        URLSearchParams: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        document: 'readonly',
        window: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      eqeqeq: ['error', 'always'],
      'no-restricted-syntax': [
        'error',
        { selector: 'TSEnumDeclaration', message: 'Use a union of string literals (erasableSyntaxOnly).' },
        { selector: 'ExportAllDeclaration', message: 'Name every export (STYLE.md §2).' },
      ],
    },
  },
  {
    // The core speaks Web standards: no Node imports outside the Node files.
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.test.ts', 'src/**/*.node.ts', 'src/adapters/node.ts', 'src/adapters/express.ts', 'src/adapters/fastify.ts', 'src/adapters/hono-node.ts', 'src/adapters/_node/**', 'src/cli/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['node:*'], message: 'Core code speaks Web standards; Node code lives in the adapters or *.node.ts files.' }] }],
    },
  },
);
