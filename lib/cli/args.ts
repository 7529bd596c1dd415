/**
 * How `flux` reads its command line: negative numbers as option values, one-line messages for options the parser
 * refuses, and the checks that nothing given is silently ignored (a repeated option, a stray word, an option the
 * chosen form of a command does not read).
 */
import type { ParseArgsConfig } from 'node:util';
import { FluxError } from '../util/check.js';

export type ParseOptions = NonNullable<ParseArgsConfig['options']>;

/** What `parseArgs({ tokens: true })` lists, as far as these checks read it. */
export interface ArgToken {
  kind: string;
  name?: string;
  value?: string;
}

/**
 * `--batch-size -3` as `--batch-size=-3`: a negative number after an option that takes a value is that value (the
 * option then says what it accepts), not an unknown option.
 */
export function negativeValues(args: readonly string[], options: ParseOptions): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const next = args[i + 1];
    const option = a.startsWith('--') && !a.includes('=') ? options[a.slice(2)] : undefined;
    if (option?.type === 'string' && next !== undefined && /^-(\d|\.\d)/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** A one-line message for options the parser refused, naming the command and the option. */
export function argumentMessage(name: string, err: Error & { code?: string }, options: ParseOptions): string {
  const known = Object.keys(options)
    .map((o) => `--${o}`)
    .join(', ');
  const quoted = /'(-[^' ]*)/.exec(err.message)?.[1];
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && quoted) {
    return `flux ${name}: unknown option '${quoted}'; the options are ${known} (flux ${name} --help)`;
  }
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && quoted) {
    const option = options[quoted.replace(/^-+/, '')];
    return option?.type === 'boolean'
      ? `flux ${name}: ${quoted} takes no value`
      : `flux ${name}: ${quoted} needs a value (flux ${name} --help)`;
  }
  return `flux ${name}: ${err.message.split('\n')[0]}`;
}

/** What the command prints for a FluxError: the message, prefixed with `flux: ` unless it names the command already. */
export function errorLine(message: string): string {
  return /^flux[ :]/.test(message) ? message : `flux: ${message}`;
}

/**
 * Refuses an option given more than once (`--db a --db b`), naming it and both values: otherwise the last would win
 * silently. An option declared `multiple` may repeat; --help may too.
 */
export function refuseRepeated(name: string, tokens: readonly ArgToken[], options: ParseOptions): void {
  const seen = new Map<string, string | undefined>();
  for (const t of tokens) {
    if (t.kind !== 'option' || t.name === undefined || t.name === 'help' || options[t.name]?.multiple) continue;
    if (seen.has(t.name)) {
      const first = seen.get(t.name);
      const values = first === undefined ? '' : ` (${JSON.stringify(first)} and ${JSON.stringify(t.value ?? '')})`;
      throw new FluxError(`flux ${name}: --${t.name} is given twice${values}; give it once`);
    }
    seen.set(t.name, t.value);
  }
}

/**
 * Refuses the words a form of a command does not take (`flux ingest --db x B`, `flux models list extra`), naming
 * them: a word is never silently ignored. `form` is the command and its action; `takes` what it does take.
 */
export function refuseWords(form: string, words: readonly string[], takes = 'no arguments besides its options'): void {
  if (!words.length) return;
  const list = words.map((w) => JSON.stringify(w)).join(', ');
  const help = `flux ${form.split(' ')[0] as string} --help`;
  throw new FluxError(
    `flux ${form}: unexpected argument${words.length > 1 ? 's' : ''} ${list} (flux ${form} takes ${takes}; ${help})`,
  );
}

/**
 * Refuses an action the command does not have (`flux curate bogus`), then an option the chosen form does not read
 * (`flux curate clear --method kmeans`), naming it and the form it goes with. `forms` maps each action of the command
 * ('' for none) to the options that form reads.
 */
export function refuseForeignOptions(
  name: string,
  action: string | undefined,
  values: Record<string, unknown>,
  forms: Readonly<Record<string, readonly string[]>>,
): void {
  const allowed = forms[action ?? ''];
  if (allowed === undefined) {
    const actions = Object.keys(forms).filter(Boolean).join(', ');
    throw new FluxError(`flux ${name}: expected ${actions} or no action, received "${action}"`);
  }
  // a form named by a flag (--metadata-only) leaves a plain form that is the command without it
  const form = (a: string): string =>
    `flux ${a ? `${name} ${a}` : action?.startsWith('--') ? `${name} without ${action}` : name}`;
  for (const key of Object.keys(values)) {
    if (values[key] === undefined || allowed.includes(key)) continue;
    const owners = Object.keys(forms).filter((a) => forms[a]?.includes(key));
    const where = owners.length ? `; it goes with ${owners.map(form).join(' or ')}` : '';
    throw new FluxError(`flux ${action ? `${name} ${action}` : name}: --${key} does not apply here${where}`);
  }
}

/**
 * The options of a command but `others`: the plain form of a command whose other forms read options of their own,
 * so an option added to the command later is read by the plain form without being listed twice.
 */
export const optionsBut = (options: ParseOptions, ...others: string[]): string[] =>
  Object.keys(options).filter((k) => !others.includes(k));
