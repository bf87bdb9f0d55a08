// ESLint flat config. Style is prettier's job (eslint-config-prettier, last, turns off every rule
// that would fight it); the rules here are about real problems. TypeScript files are linted with
// type information (the tsconfig.json project) so that promise misuse is caught; the JavaScript
// files (scripts, bench, bin, config) are CommonJS for node and are linted without it.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    // What .eslintignore used to hold. dist/, lib/generated/ and coverage/ are build output.
    ignores: ['dist/', 'coverage/', '.tmp/', 'lib/generated/', 'fixtures/', 'examples/'],
  },
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-console': 'error',
      'prefer-const': 'error',
      // Modules are loaded lazily with `require('./x') as typeof import('./x')` to keep start-up short
      // (bin/chutes-rpc serve), and the scripts are CommonJS: require() is deliberate everywhere.
      '@typescript-eslint/no-require-imports': 'off',
      // tsc's noUnusedLocals/noUnusedParameters follow the same convention: a leading _ means unused on purpose.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { args: 'after-used', argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
    },
  },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { project: './tsconfig.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Promise misuse: what the type-aware rules are here for.
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: true }],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-for-in-array': 'error',
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/no-unnecessary-type-assertion': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
    },
  },
  {
    files: ['**/*.js', '**/*.cjs', 'bin/chutes-rpc'],
    languageOptions: { sourceType: 'commonjs', globals: { ...globals.node } },
    rules: {
      // `const crypto = require('node:crypto')` shadows the global of the same name on purpose.
      'no-redeclare': ['error', { builtinGlobals: false }],
    },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { sourceType: 'module', globals: { ...globals.node } },
  },
  {
    // Command-line programs, benchmarks and build scripts talk to a terminal: console is their output.
    files: ['bin/**', 'bench/**', 'scripts/**'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['spec/**/*.ts'],
    rules: {
      // Tests reach into untyped JSON and stub things; `any` and non-null assertions are fine there.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  prettier,
);
