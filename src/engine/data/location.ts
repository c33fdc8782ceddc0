/**
 * Where a dataset row sits in its file, and how to name it to a person.
 *
 * A JSON Lines row is named by its line. An element of a JSON array is named
 * by its position in the array ("row 17 of the array"): its line is only
 * where its value starts, which is 1 for every row of a one-line array such
 * as Alpaca's own alpaca_data.json. Every message that names rows (errors,
 * warnings, the sample viewer, the CLI) goes through `rowLabel`/`rowsLabel`.
 */

export interface RowLocation {
  /** 1-based line the row starts on */
  line: number;
  /** 0-based position of the element in a JSON array file; absent for JSON Lines */
  index?: number;
}

/** Just the location of anything that carries one (for spreading into a new record). */
export function locationOf(r: RowLocation): RowLocation {
  return r.index !== undefined ? { line: r.line, index: r.index } : { line: r.line };
}

/** A row's location as a map key ("17:" for line 17 of JSON Lines, "1:16" for element 16 of a one-line array): equal for the same row of one file. */
export function locationKey(at: RowLocation): string {
  return `${at.line}:${at.index ?? ''}`;
}

/** The number a person reads: the line of a JSON Lines row, the 1-based position of an array element. */
export function rowNumber(at: RowLocation): number {
  return at.index !== undefined ? at.index + 1 : at.line;
}

/** "line 17" for JSON Lines, "row 17 of the array" for the 17th element of a JSON array. */
export function rowLabel(at: RowLocation): string {
  return at.index !== undefined ? `row ${at.index + 1} of the array` : `line ${at.line}`;
}

/**
 * Several rows of one file, the first `max` listed: "lines 3, 8, … (2 more)"
 * or "rows 3, 8 of the array". (A file is either JSON Lines or one array, so
 * the rows are all of one kind; the first decides.)
 */
export function rowsLabel(ats: readonly RowLocation[], max = 10): string {
  if (ats.length === 0) return 'no rows';
  const array = ats[0].index !== undefined;
  const numbers = ats.slice(0, max).map(rowNumber);
  const more = ats.length > max ? `, … (${ats.length - max} more)` : '';
  const list = numbers.join(', ') + more;
  if (array) return `${ats.length === 1 ? 'row' : 'rows'} ${list} of the array`;
  return `${ats.length === 1 ? 'line' : 'lines'} ${list}`;
}

/** File order: by line, then by position in the array. */
export function compareLocations(a: RowLocation, b: RowLocation): number {
  if (a.index !== undefined && b.index !== undefined) return a.index - b.index || a.line - b.line;
  return a.line - b.line || (a.index ?? -1) - (b.index ?? -1);
}
