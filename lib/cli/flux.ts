#!/usr/bin/env node
/**
 * The `flux` command. Each subcommand is a thin layer over `lib/`: parse options, show progress, print a summary.
 */
import { parseArgs } from 'node:util';
import { FluxError } from '../util/check.js';
import { progressBar } from './progress-bar.js';
import { COMMANDS } from './commands.js';
import { argumentMessage, errorLine, negativeValues, type ParseOptions } from './args.js';

function usage(): string {
  const lines = ['flux: the FLUX keeper workbench', '', 'usage: flux <command> [options]', ''];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(14)} ${c.summary}`);
  lines.push('', 'flux <command> --help shows the options of a command.');
  return lines.join('\n');
}

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
    parsed = parseArgs({ args: negativeValues(rest, options), options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new FluxError(argumentMessage(name, err as Error & { code?: string }, options));
  }
  if (parsed.values.help) {
    console.log(`flux ${name}: ${command.summary}\n\n${command.usage}`);
    return 0;
  }
  const bar = progressBar();
  try {
    await command.run(parsed.values as Record<string, string | boolean | undefined>, parsed.positionals, bar);
  } finally {
    bar.stop();
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof FluxError) {
      console.error(errorLine(err.message));
      process.exitCode = 1;
    } else {
      console.error(err);
      process.exitCode = 70;
    }
  },
);
