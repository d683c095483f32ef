// `npm run lint` (eslint . && prettier --check .). Layout is prettier's job: no stylistic rules here.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    ignores: ['dist/', 'coverage/', '.test-tmp/', 'bench/.build/', 'bench/results/', '**/node_modules/'],
  },
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  js.configs.recommended,
  // The TypeScript: src/, test/ and bench/, with type information from the same project that
  // scripts/test.sh type-checks (tsconfig.json alone covers only src/).
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        project: './tsconfig.test.json',
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // Kept on, and named so nobody turns them off by accident: an unhandled rejection has already
      // been a bug here (fire-and-forget needs an explicit `void`). The one exemption: node:test's
      // top-level test()/describe() return a promise that the runner itself tracks (Node's docs say
      // it need not be awaited). Subtests (`t.test(...)`) are not exempt: an un-awaited subtest is
      // a real bug (it is cancelled when its parent ends).
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      // Off: an async function with no await is not a bug, and here they are what the APIs ask for
      // (fastify plugins and route handlers, waitFor() predicates in the tests). The promise bugs
      // are the other rules' job: no-floating-promises, no-misused-promises, await-thenable.
      '@typescript-eslint/require-await': 'off',
      // Destructuring to leave fields out of a rest object is how the code omits them
      // (`const { interval: _i, timeout: _t, ...rest } = obj` in config/load.ts).
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
    },
  },
  // Plain JavaScript (bin/watchdog.js, this file) is in no tsconfig: no type-aware rules for it.
  {
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: globals.node },
  },
);
