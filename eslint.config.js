// Lint: type-aware rules that catch money bugs, plus the determinism and layer bans of docs/DETERMINISM.md.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

const coreBans = {
  'no-restricted-globals': [
    'error',
    { name: 'Date', message: 'core has no clock: take timestamps from the command (DETERMINISM.md).' },
    { name: 'performance', message: 'core has no clock.' },
    { name: 'setTimeout', message: 'core is synchronous.' },
    { name: 'setInterval', message: 'core is synchronous.' },
    { name: 'process', message: 'core does no I/O.' },
    { name: 'console', message: 'core does no I/O: return events.' },
    { name: 'crypto', message: 'core has no randomness.' },
    { name: 'parseFloat', message: 'parse decimals with core/num.' },
    { name: 'Intl', message: 'format at the edge.' },
  ],
  'no-restricted-properties': [
    'error',
    { object: 'Math', property: 'random', message: 'core has no randomness; seeded PRNGs live in sim.' },
    { object: 'Math', property: 'round', message: 'use a named rounding from core/num.' },
    { object: 'Number', property: 'parseFloat', message: 'parse decimals with core/num.' },
  ],
  'no-restricted-imports': [
    'error',
    {
      patterns: [
        { group: ['node:*', 'fs', 'path', 'os', 'child_process', 'worker_threads'], message: 'core does no I/O.' },
        { group: ['**/cli/**', '**/journal/**', '**/sim/**', '**/adapters/**', '**/presets/**', '**/scenario/**', '**/service/**'], message: 'dependencies point inward: core imports only core.' },
      ],
    },
  ],
  'no-restricted-syntax': [
    'error',
    { selector: 'FunctionDeclaration[async=true]', message: 'core is synchronous.' },
    { selector: 'ArrowFunctionExpression[async=true]', message: 'core is synchronous.' },
    { selector: 'AwaitExpression', message: 'core is synchronous.' },
  ],
}

export default tseslint.config(
  { ignores: ['node_modules/**', '.test-results/**', 'reports/**', 'dist/**', 'bin/**', 'eslint.config.js', 'tools/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/strict-boolean-expressions': ['error', { allowNullableObject: true, allowString: false, allowNumber: false, allowNullableBoolean: true }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true, allowNullish: false, allow: [{ from: 'lib', name: 'bigint' }] }],
    },
  },
  { files: ['src/core/**/*.ts'], rules: coreBans },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'tools/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/strict-boolean-expressions': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
)
