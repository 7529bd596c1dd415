// Lint rules that keep the house in shape (see ARCHITECTURE.md): short functions, short lines, no import cycle,
// DuckDB only in lib/db/, ONNX Runtime only in lib/onnx/, and the layers above the stages never imported from below.
// Formatting itself is prettier's (.prettierrc.json); `npm run lint` runs both.
import tseslint from 'typescript-eslint';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';

const STAGES = [
  '0-sample',
  '1-ingest',
  '2-embed',
  '3-match',
  '4-dataset',
  '5-rank',
  '6-score',
  '7-curate',
  '8-analysis',
  '9-report',
];
const LEAVES = ['db', 'onnx', 'plot', 'util'];

/** Import specifiers a folder may not use, each with the reason the lint message gives. */
const FORBIDDEN = {
  duckdb: { regex: '^@duckdb/node-api(/|$)', message: 'DuckDB is imported only under lib/db/.' },
  onnx: { regex: '^onnxruntime-node(/|$)', message: 'onnxruntime-node is imported only under lib/onnx/.' },
  pipeline: { regex: '(^|/)pipeline/', message: 'Stages and leaves never import lib/pipeline/ (it sits above them).' },
  cli: { regex: '(^|/)cli/', message: 'Only lib/cli/ imports lib/cli/.' },
};

/** The import rules for files under `folders`: every forbidden specifier but those in `allowed`. */
function restrict(folders, ...forbidden) {
  const patterns = forbidden.map((key) => ({ regex: FORBIDDEN[key].regex, message: FORBIDDEN[key].message }));
  // dynamic import() is not seen by no-restricted-imports
  const syntax = forbidden.map((key) => ({
    selector: `ImportExpression[source.value=/${FORBIDDEN[key].regex.replaceAll('/', '\\/')}/]`,
    message: FORBIDDEN[key].message,
  }));
  return {
    files: folders.map((f) => `lib/${f}/**/*.ts`),
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
  // cycles are a matter of lib/ (test and bench files are leaves that nothing imports back)
  { files: ['lib/**/*.ts'], rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] } },
  restrict(STAGES, 'duckdb', 'onnx', 'pipeline', 'cli'),
  restrict(
    LEAVES.filter((l) => l !== 'db' && l !== 'onnx'),
    'duckdb',
    'onnx',
    'pipeline',
    'cli',
  ),
  restrict(['db'], 'onnx', 'pipeline', 'cli'),
  restrict(['onnx'], 'duckdb', 'pipeline', 'cli'),
  restrict(['pipeline'], 'duckdb', 'onnx', 'cli'),
  restrict(['cli'], 'duckdb', 'onnx'),
  { files: ['lib/*.ts'], ...restrictRules('duckdb', 'onnx') },
];

/** The rules part of `restrict`, for files matched otherwise. */
function restrictRules(...forbidden) {
  return { rules: restrict([], ...forbidden).rules };
}
