import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The layout, enforced: product code (src) imports neither the development harness (dev) nor the tests; the
// harness, the benchmark and the unit tests import no test glue (test/support) and no node:test.
const testGlue = { group: ['**/test/**'], message: 'test/ is test glue: only tests under test/ import it' };
const harness = { group: ['**/dev/**'], message: 'src/ is the product: it does not import the dev/ harness' };
const nodeTest = { name: 'node:test', message: 'dev/ and bench/ are tooling, not tests' };

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.cluster/', '.cluster-*/'] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [testGlue, harness] }] },
  },
  { files: ['src/**/*.test.ts'], rules: { 'no-restricted-imports': ['error', { patterns: [testGlue] }] } },
  {
    files: ['dev/**/*.ts', 'bench/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [nodeTest], patterns: [testGlue] }] },
  },
);
