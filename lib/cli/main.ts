/**
 * The `flux` command line as a function: `flux.js` runs it on the process's arguments, and tests run it in-process.
 */
import { parseArgs } from 'node:util';
import { FluxError } from '../util/check.js';
import { progressBar } from './progress-bar.js';
import { COMMANDS } from './commands.js';
import { argumentMessage, errorLine, negativeValues, refuseRepeated, refuseWords, type ParseOptions } from './args.js';

function usage(): string {
  const lines = ['flux: the FLUX keeper workbench', '', 'usage: flux <command> [options]', ''];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(14)} ${c.summary}`);
  lines.push('', 'flux <command> --help shows the options of a command.');
  return lines.join('\n');
}

/** Runs one flux command; a bad input throws a FluxError. Returns the exit code of a run that did not throw. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) throw new FluxError(`unknown command "${name}"; commands: ${Object.keys(COMMANDS).join(', ')}`);
  const options = { ...command.options, help: { type: 'boolean', short: 'h' } } as ParseOptions;
  let parsed;
  try {
    const args = negativeValues(rest, options);
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true, tokens: true });
  } catch (err) {
    throw new FluxError(argumentMessage(name, err as Error & { code?: string }, options));
  }
  if (parsed.values.help) {
    console.log(`flux ${name}: ${command.summary}\n\n${command.usage}`);
    return 0;
  }
  refuseRepeated(name, parsed.tokens, options);
  if (!command.takesArguments) refuseWords(name, parsed.positionals);
  const bar = progressBar();
  try {
    await command.run(parsed.values as Record<string, string | boolean | undefined>, parsed.positionals, bar);
  } finally {
    bar.stop();
  }
  return 0;
}

/**
 * {@link main} with the command line's exit codes: 0 done, 1 a bad input (its message one line on stderr), 2 no
 * command given, 70 a fault of the program (its stack on stderr).
 */
export async function runFlux(argv: string[]): Promise<number> {
  try {
    return await main(argv);
  } catch (err) {
    if (err instanceof FluxError) {
      console.error(errorLine(err.message));
      return 1;
    }
    console.error(err);
    return 70;
  }
}
