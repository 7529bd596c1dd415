// Lint rules that keep the house in shape (see ARCHITECTURE.md): short functions, short lines, no import cycle,
// DuckDB only in lib/db/, ONNX Runtime only in lib/onnx/, TensorFlow.js only in lib/tfjs/, and the layers above the stages never imported from below.
// Formatting itself is prettier's (.prettierrc.json); `npm run lint` runs both.
import tseslint from 'typescript-eslint';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';

// Every folder under lib/ is a stage or a leaf (so a new stage such as 2-detect is covered as it lands) except the
// three leaves that own a native library and the layers above the stages.
const LAYERS = ['pipeline', 'cli', 'portal'];

/** Import specifiers a folder may not use, each with the reason the lint message gives. */
const FORBIDDEN = {
  duckdb: { regex: '^@duckdb/node-api(/|$)', message: 'DuckDB is imported only under lib/db/.' },
  onnx: { regex: '^onnxruntime-node(/|$)', message: 'onnxruntime-node is imported only under lib/onnx/.' },
  tfjs: { regex: '^@tensorflow/', message: 'TensorFlow.js is imported only under lib/tfjs/.' },
  pipeline: { regex: '(^|/)pipeline/', message: 'Stages and leaves never import lib/pipeline/ (it sits above them).' },
  cli: { regex: '(^|/)cli/', message: 'Only lib/cli/ imports lib/cli/.' },
  portal: { regex: '(^|/)portal/', message: 'Only lib/portal/ and lib/cli/ import lib/portal/.' },
};

/** The import rules for files under `folders` (`*`: all of lib/): the `forbidden` specifiers fail. */
function restrict(folders, ...forbidden) {
  const patterns = forbidden.map((key) => ({ regex: FORBIDDEN[key].regex, message: FORBIDDEN[key].message }));
  // dynamic import() is not seen by no-restricted-imports
  const syntax = forbidden.map((key) => ({
    selector: `ImportExpression[source.value=/${FORBIDDEN[key].regex.replaceAll('/', '\\/')}/]`,
    message: FORBIDDEN[key].message,
  }));
  return {
    files: folders.map((f) => (f === '*' ? 'lib/**/*.ts' : `lib/${f}/**/*.ts`)),
    rules: { 'no-restricted-imports': ['error', { patterns }], 'no-restricted-syntax': ['error', ...syntax] },
  };
}

export default [
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'models/**', 'notebooks/**', 'scratch/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser, ecmaVersion: 2022, sourceType: 'module' },
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      // sources import each other by their compiled name (`./x.js` for `x.ts`)
      'import-x/resolver-next': [
        createNodeResolver({ extensions: ['.ts', '.js'], extensionAlias: { '.js': ['.ts', '.js'] } }),
      ],
    },
    linterOptions: { reportUnusedDisableDirectives: 'off' },
    rules: {
      'max-lines-per-function': ['error', { max: 100, skipBlankLines: true, skipComments: true }],
      'max-len': [
        'error',
        {
          code: 120,
          ignoreUrls: true,
          ignoreStrings: true,
          ignoreTemplateLiterals: true,
          ignoreRegExpLiterals: true,
        },
      ],
    },
  },
  // a test is one scenario read top to bottom (build the case, run it, assert each value): it may run longer than a
  // function of lib/, which a reader must hold in his head at once
  {
    files: ['test/**/*.ts'],
    rules: { 'max-lines-per-function': ['error', { max: 160, skipBlankLines: true, skipComments: true }] },
  },
  // cycles are a matter of lib/ (test and bench files are leaves that nothing imports back)
  { files: ['lib/**/*.ts'], rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] } },
  // stages and leaves; the entries after it loosen the rule for the folders allowed more
  restrict(['*'], 'duckdb', 'onnx', 'tfjs', ...LAYERS),
  restrict(['db'], 'onnx', 'tfjs', ...LAYERS),
  restrict(['onnx'], 'duckdb', 'tfjs', ...LAYERS),
  restrict(['tfjs'], 'duckdb', 'onnx', ...LAYERS),
  restrict(['pipeline'], 'duckdb', 'onnx', 'tfjs', 'cli', 'portal'),
  restrict(['portal'], 'duckdb', 'onnx', 'tfjs', 'cli'),
  restrict(['cli'], 'duckdb', 'onnx', 'tfjs'),
  { files: ['lib/*.ts'], ...restrictRules('duckdb', 'onnx', 'tfjs') },
];

/** The rules part of `restrict`, for files matched otherwise. */
function restrictRules(...forbidden) {
  return { rules: restrict([], ...forbidden).rules };
}
