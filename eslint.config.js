import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'coverage/', 'clients/typescript/dist/', 'clients/typescript/src/schema.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', Buffer: 'readonly', console: 'readonly', NodeJS: 'readonly', performance: 'readonly', TextDecoder: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', fetch: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
      // f?.(await g()) skips g() when f is absent: work that must happen (a throttle's count) then never does.
      'no-restricted-syntax': ['error', { selector: 'CallExpression[optional=true] AwaitExpression', message: 'Await outside an optional call: f?.(await g()) skips g() when f is undefined.' }],
    },
  },
  // The dependency-cruiser configuration is CommonJS, as that tool reads it.
  { files: ['**/*.cjs'], languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } } },
);
