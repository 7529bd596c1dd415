import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CONTROLS_FILE,
  controlsText,
  familyResult,
  readControls,
  type ControlOutcome,
} from '../lib/5-rank/controls.js';
import { DEFAULT_RULE, type RuleEvidence } from '../lib/5-rank/decide.js';
import { verdict } from '../lib/5-rank/verdict.js';
import type { TrainReport } from '../lib/5-rank/train-report.js';
import { PROJECT, tempDir } from './helpers.js';

const outcome = (o: Partial<ControlOutcome>): ControlOutcome => ({
  taste: 'interaction',
  keepers: 1000,
  rows: 26667,
  decision: 'superior',
  chosen: 'pairwise',
  result: 'right',
  right: ['pairwise'],
  seconds: 600,
  command: 'node dist/bench/controls.js --keepers 1000',
  date: '2026-12-06',
  seed: 7,
  folds: 5,
  repeats: 1,
  ...o,
});

test('a decision is right for the planted family, wrong for another decided family, else undecided', () => {
  assert.equal(familyResult('superior', 'pairwise', ['pairwise']), 'right');
  assert.equal(familyResult('superior', 'logistic', ['pairwise']), 'wrong');
  // equivalence chooses the baseline: right on a linear taste, wrong where a contender should win
  assert.equal(familyResult('equivalent', 'pca-logistic', ['logistic', 'pca-logistic']), 'right');
  assert.equal(familyResult('equivalent', 'pca-logistic', ['contrastive-multi']), 'wrong');
  // undecided keeps the baseline without a decision, even where the baseline is a right family
  assert.equal(familyResult('undecided', 'pca-logistic', ['logistic', 'pca-logistic']), 'undecided');
  assert.equal(familyResult('undecided', 'pca-logistic', ['pairwise']), 'undecided');
  // undecided between two superior contenders, one of them deployed: undecided whichever is deployed
  assert.equal(familyResult('undecided', 'pairwise', ['contrastive-multi']), 'undecided');
  assert.equal(familyResult('undecided', 'contrastive-multi', ['contrastive-multi']), 'undecided');
});

test('the recorded controls are read back and said with their command, date and seed; a missing file is said', () => {
  const t = tempDir('controls');
  try {
    const file = join(t.dir, 'controls.json');
    const outcomes = [
      outcome({}),
      outcome({ taste: 'motifs', keepers: 100, rows: 2667, decision: 'undecided', chosen: 'pca-logistic' }),
    ];
    outcomes[1] = { ...(outcomes[1] as ControlOutcome), result: 'undecided', right: ['contrastive-multi'] };
    writeFileSync(file, JSON.stringify({ about: 'test', outcomes }));
    const text = controlsText(readControls(file));
    assert.match(
      text,
      new RegExp(`^Positive controls \\(.*recorded by the controls bench, ${file}; 2 outcomes, none wrong`),
    );
    assert.match(
      text,
      /interaction taste, 1000 keepers \(26667 rows\): superior, pairwise chosen: the right family \(right: pairwise\); 2026-12-06, seed 7, `node dist\/bench\/controls\.js --keepers 1000`/,
    );
    assert.match(text, /motifs taste, 100 keepers \(2667 rows\): undecided, pca-logistic chosen: undecided/);
    // undecided between two contenders superior to the baseline: named, the one deployed said, counted undecided
    const between = outcome({ taste: 'motifs', decision: 'undecided', chosen: 'pairwise', result: 'undecided' });
    writeFileSync(
      file,
      JSON.stringify({ about: 'test', outcomes: [{ ...between, between: ['contrastive-multi', 'pairwise'] }] }),
    );
    assert.match(
      controlsText(readControls(file)),
      /1 outcome, none wrong\):\n {2}motifs taste, 1000 keepers \(26667 rows\): undecided between contrastive-multi and pairwise, pairwise deployed: undecided \(right: pairwise\)/,
    );
    // a wrong outcome is counted in the heading
    writeFileSync(
      file,
      JSON.stringify({ about: 'test', outcomes: [outcome({ chosen: 'logistic', result: 'wrong' })] }),
    );
    assert.match(controlsText(readControls(file)), /1 outcome, 1 WRONG\):\n.*a WRONG family/);
    // a note (such as an earlier form of the rule) is said after the command
    writeFileSync(file, JSON.stringify({ about: 'test', outcomes: [outcome({ note: 'by the earlier rule' })] }));
    assert.match(
      controlsText(readControls(file)),
      /`node dist\/bench\/controls\.js --keepers 1000`; by the earlier rule$/,
    );
    const missing = join(t.dir, 'none.json');
    assert.equal(
      controlsText(readControls(missing)),
      `Positive controls: no recorded outcomes (${missing}: no such file); ` +
        'run the controls bench (npm run build && node dist/bench/controls.js) to record them.',
    );
    writeFileSync(file, '{ not json');
    assert.match(controlsText(readControls(file)), /no recorded outcomes \(.*controls\.json: it is not JSON/);
    assert.equal(controlsText(undefined), 'Positive controls: not recorded in this report.');
  } finally {
    t.cleanup();
  }
});

test('the train verdict prints the controls beside the rule decision; the repository records them', () => {
  const e = { value: 0.1, lo: 0.05, hi: 0.15 };
  const metrics = { ap: e, auc: e, session_pair_acc: e, p_at_36: e, p_at_5pct: e, session_ndcg: e, ece: e };
  const w = { name: 'pca-logistic · vector', arch: 'pca-logistic', featureSet: 'vector', valAp: 0.1, test: metrics };
  const rule: RuleEvidence = {
    settings: { ...DEFAULT_RULE, resamples: 200 },
    baseline: { name: w.name, arch: 'pca-logistic', featureSet: 'vector', ap: 0.1, walkNdcg: 0.5 },
    contenders: [],
    decision: 'undecided',
    chosen: { name: w.name, arch: 'pca-logistic', featureSet: 'vector' },
    photos: 100,
    keepers: 10,
    walks: 4,
  };
  const report = {
    winner: w,
    results: [w],
    selection: 'the decision rule (undecided)',
    rule,
    allWalks: null,
    photoSplit: null,
    data: { keepers: 10, test: 10, testKeepers: 1 },
  };
  const recorded = readControls();
  assert.equal(CONTROLS_FILE, join(PROJECT, 'bench', 'controls.json'));
  assert.ok('record' in recorded, 'bench/controls.json is committed and readable');
  const text = verdict({ ...report, controls: recorded } as unknown as TrainReport);
  assert.match(text, /Rule decision: undecided[^\n]*\nPositive controls \(planted tastes at the real feature width/);
  for (const taste of ['additive', 'interaction', 'motifs'])
    assert.match(text, new RegExp(`  ${taste} taste, \\d+ keepers`));
  // undecided between two superior contenders: the chosen line says the simpler was deployed
  const pairing = { best: 'b', runnerUp: 'a', diff: e, outcome: 'undecided' as const };
  const split = verdict({ ...report, rule: { ...rule, pairing }, controls: recorded } as unknown as TrainReport);
  assert.match(
    split,
    /^Chosen: pca-logistic · vector, by the decision rule \(undecided\) between two contenders superior to the baseline, the simpler deployed\./,
  );
  // the best deployed by the one-standard-error rule: the chosen line says so
  const ahead = { ...pairing, deployed: 'best' as const };
  const led = verdict({ ...report, rule: { ...rule, pairing: ahead }, controls: recorded } as unknown as TrainReport);
  assert.match(
    led,
    /^Chosen: pca-logistic · vector, by the decision rule \(undecided\) between two contenders superior to the baseline, the one ahead by more than one standard error deployed\./,
  );
  // a report saved before the controls were kept says so
  assert.match(verdict(report as unknown as TrainReport), /\nPositive controls: not recorded in this report\./);
});
