/** CSV cells written safe from spreadsheet formulas, and CSV text read back. */

/**
 * A CSV cell, quoted when needed, and never read as a formula by a spreadsheet: a value that starts like one (`=`,
 * `+`, `-`, `@`, a tab or a carriage return, after any apostrophes) is written behind one more apostrophe, which
 * `parseCsv` takes off again, so every value reads back exactly as it was.
 */
export function csvCell(value: unknown): string {
  let s = value === null || value === undefined ? '' : String(value);
  if (/^'*[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * A cell's value as `csvCell` had it: the apostrophe that kept a formula-like value from being read as a formula
 * is taken off (`'=HYPERLINK(...)` reads as `=HYPERLINK(...)`); any other text is unchanged.
 */
export function plainCsvValue(cell: string): string {
  return /^'+[=+\-@\t\r]/.test(cell) ? cell.slice(1) : cell;
}

/** Parses CSV text (quoted cells, doubled quotes) into rows of values, each as `plainCsvValue` reads it. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(plainCsvValue(cell));
      cell = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(plainCsvValue(cell));
      rows.push(row);
      row = [];
      cell = '';
    } else cell += c;
  }
  if (cell !== '' || row.length) {
    row.push(plainCsvValue(cell));
    rows.push(row);
  }
  return rows.filter((r) => r.some((x) => x.trim() !== ''));
}
