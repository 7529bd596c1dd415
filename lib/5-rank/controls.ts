/**
 * The positive controls' recorded outcomes: the controls bench (bench/controls.ts) plants a taste whose right answer
 * is known in synthetic rows at the real feature width, runs the decision rule on them and records what it decided
 * in bench/controls.json. `flux train` prints those outcomes beside its own decision, so a reader sees whether the
 * rule can find a real difference at about the keeper count of the archive, and that it never picked a wrong family.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { plural } from '../util/text.js';
import type { RuleEvidence } from './decide.js';
import type { Arch } from './scorers.js';

/** Where the controls bench records its outcomes (the repository's bench/controls.json). */
export const CONTROLS_FILE = fileURLToPath(new URL('../../../bench/controls.json', import.meta.url));

/**
 * How a decision stands against the planted taste: `right` (the chosen model is of a right family: superior, or the
 * baseline found equivalent when the baseline is right), `wrong` (decided, for a family that is not right), or
 * `undecided` (the baseline kept without a decision, or undecided between two contenders superior to it: neither
 * right nor wrong, whichever of the two is deployed).
 */
export type FamilyResult = 'right' | 'wrong' | 'undecided';

export function familyResult(decision: RuleEvidence['decision'], chosen: Arch, right: readonly Arch[]): FamilyResult {
  if (decision === 'undecided') return 'undecided';
  return right.includes(chosen) ? 'right' : 'wrong';
}

/** One control: the planted taste, its size, what the rule decided, and how it was run. */
export interface ControlOutcome {
  taste: string;
  keepers: number;
  rows: number;
  decision: RuleEvidence['decision'];
  /** The architecture the rule chose (the baseline, pca-logistic, unless a contender was superior). */
  chosen: string;
  /** Undecided between two contenders superior to the baseline: their architectures, the better first. */
  between?: string[];
  /** How this outcome differs from the others (for example, decided by an earlier form of the rule). */
  note?: string;
  result: FamilyResult;
  /** The families that are a right answer for the taste. */
  right: string[];
  seconds: number;
  command: string;
  /** The day it ran (YYYY-MM-DD). */
  date: string;
  seed: number;
  folds: number;
  repeats: number;
}

export interface ControlsRecord {
  about: string;
  outcomes: ControlOutcome[];
}

/** The recorded outcomes, or why there are none. */
export type ControlsReading = { file: string; record: ControlsRecord } | { file: string; missing: string };

/** Reads the controls' record; a missing or unreadable file is said, not thrown. */
export function readControls(file: string = CONTROLS_FILE): ControlsReading {
  if (!existsSync(file)) return { file, missing: 'no such file' };
  try {
    const record = JSON.parse(readFileSync(file, 'utf8')) as ControlsRecord;
    if (!Array.isArray(record.outcomes)) return { file, missing: 'it holds no list of outcomes' };
    return { file, record };
  } catch (err) {
    return { file, missing: `it is not JSON (${(err as Error).message.split('\n')[0]})` };
  }
}

/** The controls' outcomes in words, as `flux train` prints them beside its decision. */
export function controlsText(c: ControlsReading | null | undefined): string {
  if (!c) return 'Positive controls: not recorded in this report.';
  if ('missing' in c) {
    return (
      `Positive controls: no recorded outcomes (${c.file}: ${c.missing}); ` +
      'run the controls bench (npm run build && node dist/bench/controls.js) to record them.'
    );
  }
  const o = c.record.outcomes;
  const wrong = o.filter((x) => x.result === 'wrong').length;
  const lines = [
    `Positive controls (planted tastes at the real feature width, recorded by the controls bench, ${c.file}; ` +
      `${plural(o.length, 'outcome')}, ${wrong ? `${wrong} WRONG` : 'none wrong'}):`,
    ...o.map(
      (x) =>
        `  ${x.taste} taste, ${x.keepers} keepers (${x.rows} rows): ` +
        (x.between
          ? `undecided between ${x.between.join(' and ')}, ${x.chosen} deployed: `
          : `${x.decision}, ${x.chosen} chosen: `) +
        `${x.result === 'right' ? 'the right family' : x.result === 'wrong' ? 'a WRONG family' : 'undecided'} ` +
        `(right: ${x.right.join(' or ')}); ${x.date}, seed ${x.seed}, \`${x.command}\`` +
        (x.note ? `; ${x.note}` : ''),
    ),
  ];
  return lines.join('\n');
}
