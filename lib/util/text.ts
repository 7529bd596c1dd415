/** Wording shared by the command line, the notebooks and the report. */

/** `1 keeper`, `2 keepers`, `0 walks`: a count with its noun, plural unless the count is one. */
export function plural(n: number, noun: string, pluralNoun = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : pluralNoun}`;
}

/** The first `n` names of a list, then how many more: `a, b, c and 4 more`. */
export function someOf(names: readonly string[], n = 5): string {
  return names.length > n ? `${names.slice(0, n).join(', ')} and ${names.length - n} more` : names.join(', ');
}

/**
 * Text from the archive as one line of a terminal: control characters (a newline or an escape sequence in a file
 * name) are written as escapes, so a name cannot break the listing or drive the terminal.
 */
export const printable = (text: string): string =>
  // eslint-disable-next-line no-control-regex
  text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
