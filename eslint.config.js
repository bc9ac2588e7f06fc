// Lint: type-aware rules that catch real bugs, and the layer rule that keeps imports
// pointing one way (shared <- core <- main/cli; renderer -> shared only). See STYLE.md.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeBuiltins = ['node:*', 'fs', 'fs/*', 'path', 'crypto', 'os', 'child_process', 'net', 'stream', 'stream/*'];

const coreForbidden = ['**/main/**', '**/cli/**', '**/renderer/**', '**/preload/**', 'electron', 'react', 'react-dom'];

/** The engine's inner layers and what each may import; relative imports ('../format/x')
 * are matched by their folder name. */
const coreLayers = [
  ['crypto', []],
  ['erasure', []],
  ['format', ['crypto']],
  ['storage', ['format']],
  ['guard', ['crypto', 'format']],
  ['vault', ['crypto', 'erasure', 'format', 'storage', 'guard']],
  ['drive', ['crypto', 'format', 'storage', 'vault']],
  ['node-server', ['crypto', 'format', 'storage', 'guard']],
];
const coreDirs = coreLayers.map(([d]) => d);
/** The engine's base files, below every layer: each layer may import them, they import no layer. */
const coreBase = ['errors', 'cleanup', 'config', 'bundled', 'idle-lock'].map((f) => `src/core/${f}.ts`);
/** The engine's top (app.ts, and kit.ts beside it), which only front ends import. */
const coreTop = ['**/app', '**/kit'];

/** no-restricted-imports patterns for one layer. */
function layer(files, forbidden, message) {
  return {
    files,
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: [{ group: forbidden, message }] }],
    },
  };
}

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', 'bin/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.object.name=/^(it|test|describe)$/][callee.property.name='only']",
          message: 'focused test',
        },
      ],
    },
  },
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
  { files: ['**/*.js', '**/*.mjs'], rules: { 'no-undef': 'off' } }, // Node globals; TypeScript checks the rest
  layer(
    ['src/shared/**'],
    ['**/core/**', '**/main/**', '**/cli/**', '**/renderer/**', '**/preload/**', 'electron', 'react', ...nodeBuiltins],
    'src/shared is plain types and pure functions: no Node, no DOM, no other layer',
  ),
  layer(['src/core/**'], coreForbidden, 'the engine imports neither Electron, the UI nor a front end'),
  layer(
    coreBase,
    [...coreForbidden, ...coreDirs.map((d) => `**/${d}/**`), ...coreTop],
    "the engine's base files (errors, cleanup, config, bundled, idle-lock) stand on nothing else in the engine",
  ),
  // Inside the engine, each layer imports only those below it:
  // errors, cleanup <- crypto, erasure <- format <- storage, guard <- vault <- app.ts.
  ...coreLayers.map(([dir, below]) =>
    layer(
      [`src/core/${dir}/**`],
      [
        ...coreForbidden,
        ...coreDirs.filter((d) => d !== dir && !below.includes(d)).map((d) => `**/${d}/**`),
        ...coreTop,
      ],
      `src/core/${dir} stands on ${below.length ? below.join(', ') : 'nothing else in the engine'} (and errors, cleanup): see docs/ARCHITECTURE.md`,
    ),
  ),
  layer(
    ['src/host/**'],
    ['**/main/**', '**/renderer/**', '**/preload/**', '**/cli/**', 'electron'],
    'the engine host stands on the core and shared only (Electron reaches it as a channel)',
  ),
  layer(
    ['src/cli/**'],
    ['**/main/**', '**/renderer/**', '**/preload/**', 'electron'],
    'the CLI stands on the core and shared only',
  ),
  layer(
    ['src/main/**'],
    ['**/renderer/**', '**/cli/**', '**/preload/**'],
    'main calls the core; it does not import front ends',
  ),
  layer(
    ['src/preload/**'],
    ['**/core/**', '**/main/**', '**/renderer/**', '**/cli/**', ...nodeBuiltins],
    'the preload exposes the typed API and nothing else',
  ),
  layer(
    ['src/renderer/**'],
    ['**/core/**', '**/main/**', '**/cli/**', '**/preload/**', 'electron', ...nodeBuiltins],
    'the renderer talks only through the typed API in src/shared',
  ),
);
