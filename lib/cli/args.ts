/**
 * How `flux` reads its command line: negative numbers as option values, and one-line messages for options the
 * parser refuses.
 */
import type { ParseArgsConfig } from 'node:util';

export type ParseOptions = NonNullable<ParseArgsConfig['options']>;

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
