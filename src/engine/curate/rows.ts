/**
 * What curation reads from a dataset row: its location, its prompt text, its
 * response text and the row as it was in the file (so a chosen subset can be
 * written back unchanged). Rows come from the data pipeline (../data:
 * parseRows → detectFormat → mapRows); unusable rows stay in its errors.
 *
 * The prompt is everything the model is given: the system message, the user
 * turns (with an Alpaca `input`) and assistant turns given only as context;
 * the response is the trained assistant turns. A plain-text row is all
 * prompt, with an empty response.
 */
import { detectFormat, locationKey, locationOf, mapRows, parseRows, type ByteSource, type FieldMap, type FormatId, type MappedRow, type RowError, type RowLocation, type Sample } from '../data';

export interface CurateRow extends RowLocation {
  prompt: string;
  response: string;
  /** the normalized sample (exact-duplicate detection compares these) */
  sample: Sample;
  /** the row's JSON object as read from the file */
  value: Record<string, unknown>;
}

export interface CurateRows {
  format: FormatId | null;
  rows: CurateRow[];
  errors: RowError[];
  warnings: string[];
}

export function promptAndResponse(sample: Sample): { prompt: string; response: string } {
  if (sample.kind === 'text') return { prompt: sample.text, response: '' };
  const prompt: string[] = sample.system ? [sample.system] : [];
  const response: string[] = [];
  sample.turns.forEach((t, i) => {
    if (t.role === 'assistant' && t.train !== false) response.push(t.content);
    else prompt.push(i === 0 && sample.input ? `${t.content}\n${sample.input}` : t.content);
  });
  return { prompt: prompt.join('\n'), response: response.join('\n') };
}


/** A file's usable rows for curation, in file order. */
export async function readCurateRows(input: ByteSource, opts: { format?: FormatId; fieldMap?: FieldMap } = {}): Promise<CurateRows> {
  const parsed = await parseRows(input);
  const warnings: string[] = [];
  let format = opts.format ?? null;
  let fields: FieldMap = { ...opts.fieldMap };
  if (!format) {
    const det = detectFormat(parsed.rows.map((r) => r.value));
    warnings.push(...det.warnings);
    format = det.format;
    fields = { ...det.fields, ...opts.fieldMap };
  }
  if (format === null) return { format, rows: [], errors: [...parsed.errors, ...parsed.rows.map((r) => ({ ...locationOf(r), reason: 'row is not in a known training format' }))], warnings };
  const mapped = mapRows(parsed.rows, { format, fields });
  const values = new Map(parsed.rows.map((r) => [locationKey(r), r.value]));
  const rows = mapped.samples.map((m: MappedRow) => ({ ...locationOf(m), ...promptAndResponse(m.sample), sample: m.sample, value: values.get(locationKey(m))! }));
  return { format, rows, errors: [...parsed.errors, ...mapped.errors], warnings };
}
