// The rules STYLE.md asks for, and the determinism line of src/workflows. TypeScript itself
// (tsc --noEmit, strict) checks types; this checks what the compiler does not.
import importX from 'eslint-plugin-import-x';
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

const nodeBuiltins = builtinModules.flatMap((m) => [m, `node:${m}`]);

export default tseslint.config(
  { ignores: ['node_modules/**', '.stack/**', 'tmp-exp/**', 'dist/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin, 'import-x': importX },
    rules: {
      // A promise nobody awaits fails silently, or ends the worker as an unhandled rejection.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'import-x/no-cycle': 'error',
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no I/O, no Node APIs, activities as
    // types only (a value import would pull the activity's I/O into the workflow bundle).
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'workflow code must not use Node APIs; do it in an activity' })),
          patterns: [
            { group: ['@aws-sdk/*', '@google-cloud/*', '@azure/*', 'onnxruntime-node', 'undici'], message: 'workflow code must not call clouds or I/O; do it in an activity' },
            {
              group: ['**/activities/*', '**/clouds/*', '**/inference/*', '**/traffic/*', '**/endpoints/*', '**/audit/*', '**/shadow/*', '**/compare/*', '**/http/*', '**/dev/*', '**/copy/*'],
              allowTypeImports: true,
              message: 'import activities and I/O modules as types only',
            },
          ],
        },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: "MemberExpression[object.name='Date'][property.name='now']", message: 'not deterministic: use the workflow clock (new Date() in a workflow is replay-safe)' },
        { selector: "MemberExpression[object.name='Math'][property.name='random']", message: 'not deterministic in workflow code' },
        { selector: "MemberExpression[object.name='process']", message: 'workflow code has no process; configuration comes in the input' },
      ],
    },
  },
);
