/** Wording shared by the command line, the notebooks and the report. */

/** `1 keeper`, `2 keepers`, `0 walks`: a count with its noun, plural unless the count is one. */
export function plural(n: number, noun: string, pluralNoun = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : pluralNoun}`;
}

/** The first `n` names of a list, then how many more: `a, b, c and 4 more`. */
export function someOf(names: readonly string[], n = 5): string {
  return names.length > n ? `${names.slice(0, n).join(', ')} and ${names.length - n} more` : names.join(', ');
}
