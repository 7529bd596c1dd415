/**
 * One message shape for bad arguments and bad input everywhere: what was named, what was expected, what was received.
 */

/** An error the user can act on; the CLI prints its message without a stack trace. */
export class FluxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FluxError';
  }
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'nothing';
  try {
    const text = JSON.stringify(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    return String(value);
  }
}

/** Throws a FluxError in the shared shape: `name: expected X, received Y`. */
export function invalid(name: string, expected: string, received: unknown): never {
  throw new FluxError(`${name}: expected ${expected}, received ${show(received)}`);
}

/** How a whole number is written on a command line: digits, with an optional sign. */
const INTEGER = /^[+-]?\d+$/;
/** How any number is written on a command line: digits with an optional sign, fraction and exponent. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/**
 * A number as a command line writes it: plain decimal digits, with an optional sign (the range check that follows
 * refuses a negative where none is allowed), and a fraction or exponent only for a `real` number. Anything else
 * (empty, blank, `0x10`, `1_000`, `Infinity`) is refused, naming the option.
 */
export function parseDecimal(name: string, text: string, kind: 'integer' | 'real'): number {
  if (!(kind === 'integer' ? INTEGER : DECIMAL).test(text)) {
    invalid(name, kind === 'integer' ? 'an integer (decimal digits)' : 'a decimal number', text);
  }
  return Number(text);
}

/** An integer within [min, max]; a string must be written as {@link parseDecimal} reads an integer. */
export function checkInt(name: string, value: unknown, min: number, max: number): number {
  const n = typeof value === 'string' && INTEGER.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    invalid(name, `an integer from ${min} to ${max}`, value);
  }
  return n;
}

/** A finite number within [min, max]; a string must be written as {@link parseDecimal} reads a real number. */
export function checkNumber(name: string, value: unknown, min: number, max: number): number {
  const n = typeof value === 'string' && DECIMAL.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > max) {
    invalid(name, `a number from ${min} to ${max}`, value);
  }
  return n;
}

/** A non-empty string. */
export function checkString(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) invalid(name, 'a non-empty string', value);
  return value;
}

/** One of a fixed list of choices; the message lists the valid ones. */
export function checkChoice<T extends string>(name: string, value: unknown, choices: readonly T[]): T {
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    invalid(name, `one of ${choices.join(', ')}`, value);
  }
  return value as T;
}

/**
 * For scripts (benchmarks, development aids): runs one step; a bad input (a FluxError, which names the file or
 * option) ends the process with `program: message` and exit code 1 instead of a stack trace. Other errors propagate.
 */
export async function orExit<T>(program: string, step: () => T | Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    if (!(err instanceof FluxError)) throw err;
    console.error(`${program}: ${err.message}`);
    process.exit(1);
  }
}
