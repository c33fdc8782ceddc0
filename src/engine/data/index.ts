/**
 * The data pipeline in one call: file bytes → rows (jsonl.ts) → normalized
 * samples (formats.ts) → template segments (templates.ts) → ids and labels
 * (tokenize.ts) → statistics (stats.ts). Splitting is left to the caller
 * (split.ts) so the UI can re-split without re-tokenizing.
 *
 * Every row that does not become a sample is in `errors` with its location
 * (location.ts: a line, or an element of a JSON array) and reason; nothing is
 * dropped silently.
 */
import { parseRows, type ByteSource, type ParseResult, type RowError } from './jsonl';
import { detectFormat, mapRows, RowFormatError, type FieldMap, type FormatId } from './formats';
import { createTemplate, type PromptTemplate, type TemplateId, type TemplateTokens } from './templates';
import { sampleSegments, tokenizeSampleSegments, writesSystem, type SegmentTokenizer, type TokenizedSample } from './tokenize';
import { computeStats, duplicateRows, type DatasetStats } from './stats';
import { compareLocations, locationOf, rowsLabel, type RowLocation } from './location';

export * from './location';
export * from './jsonl';
export * from './formats';
export * from './templates';
export * from './tokenize';
export * from './stats';
export * from './split';

export interface PrepareOptions {
  tokenizer: SegmentTokenizer & TemplateTokens;
  template: TemplateId | PromptTemplate;
  /** skip detection and read rows as this format */
  format?: FormatId;
  /** override some of the format's field names */
  fieldMap?: FieldMap;
  maxLength: number;
  /** called every `progressEvery` rows while tokenizing (tokenization dominates the time) */
  onProgress?: (done: number, total: number) => void;
  progressEvery?: number;
}

export interface PreparedDataset {
  container: 'jsonl' | 'json-array';
  /** null when the rows are no training format (all rows are then in errors) */
  format: FormatId | null;
  fields: FieldMap;
  warnings: string[];
  /** in file order */
  errors: RowError[];
  samples: TokenizedSample[];
  stats: DatasetStats;
}

/** Why a file without rows or errors has nothing to train on. */
function emptyFile(parsed: ParseResult): string {
  if (parsed.container === 'json-array') return 'the file is an empty JSON array ([]): there are no rows to train on';
  if (parsed.bytes === 0) return 'the file is empty (0 bytes): there are no rows to train on';
  return `the file is empty: its ${parsed.bytes} ${parsed.bytes === 1 ? 'byte is' : 'bytes are'} only whitespace and blank lines`;
}

/** "1 row" / "12 rows", with the verb that agrees: rowCount(1, ['repeats', 'repeat']) = "1 row repeats". */
const rowCount = (n: number, verb?: [one: string, many: string]) => `${n} ${n === 1 ? 'row' : 'rows'}${verb ? ` ${verb[n === 1 ? 0 : 1]}` : ''}`;

export async function prepareDataset(input: ByteSource, opts: PrepareOptions): Promise<PreparedDataset> {
  const parsed = await parseRows(input);
  const warnings: string[] = [];
  const errors: RowError[] = [...parsed.errors];

  let format: FormatId | null;
  let fields: FieldMap;
  const empty = parsed.rows.length === 0 && parsed.errors.length === 0 ? emptyFile(parsed) : null;
  if (empty) warnings.push(empty);
  if (opts.format) {
    format = opts.format;
    fields = { ...opts.fieldMap };
  } else if (empty) {
    // nothing to detect a format from: the warning says why, not "no known training format"
    format = null;
    fields = { ...opts.fieldMap };
  } else {
    const det = detectFormat(parsed.rows.map((r) => r.value));
    warnings.push(...det.warnings);
    format = det.format;
    fields = { ...det.fields, ...opts.fieldMap };
  }

  const samples: TokenizedSample[] = [];
  let duplicates = 0;
  let systemMessages = 0;
  const systemLeftOut: RowLocation[] = [];
  if (format === null) {
    for (const r of parsed.rows) errors.push({ ...locationOf(r), reason: 'row is not in a known training format' });
  } else {
    const template = typeof opts.template === 'string' ? createTemplate(opts.template, opts.tokenizer) : opts.template;
    const mapped = mapRows(parsed.rows, { format, fields });
    errors.push(...mapped.errors);
    const multiTurnRejected: RowLocation[] = [];
    const every = opts.progressEvery ?? 100;
    for (const [i, m] of mapped.samples.entries()) {
      if (opts.onProgress && i % every === 0) opts.onProgress(i, mapped.samples.length);
      try {
        const segments = sampleSegments(m.sample, template);
        const sample = tokenizeSampleSegments(opts.tokenizer, segments, opts.maxLength, m);
        const system = writesSystem(m.sample, segments);
        if (system !== null) systemMessages++;
        if (system === false) systemLeftOut.push(locationOf(m));
        samples.push(sample);
      } catch (e) {
        if (!(e instanceof RowFormatError)) throw e;
        if (m.sample.kind === 'conversation' && m.sample.turns.length > 2) multiTurnRejected.push(locationOf(m));
        errors.push({ ...locationOf(m), reason: e.message });
      }
    }
    opts.onProgress?.(mapped.samples.length, mapped.samples.length);
    if (multiTurnRejected.length > 0 && (template.id === 'plain' || template.id === 'alpaca')) {
      const n = multiTurnRejected.length;
      warnings.push(`${n} multi-turn ${n === 1 ? 'row' : 'rows'} rejected (${rowsLabel(multiTurnRejected)}): the ${template.id} template is single-turn; choose chatml or model to train them`);
    }
    if (systemLeftOut.length > 0) {
      const n = systemLeftOut.length;
      warnings.push(
        `${rowCount(n, ['has', 'have'])} a system message that ${template.id === 'model' ? "the model's chat template" : `the ${template.id} template`} does not write into the prompt (${rowsLabel(systemLeftOut)}); ${n === 1 ? 'it is' : 'they are'} trained without it: choose chatml to keep it`,
      );
    }
    const dups = duplicateRows(mapped.samples);
    duplicates = dups.length;
    if (dups.length > 0) warnings.push(`${rowCount(dups.length, ['repeats', 'repeat'])} an earlier row exactly (${rowsLabel(dups)}); ${dups.length === 1 ? 'it is' : 'they are'} kept`);
    const cut = samples.filter((s) => s.truncated);
    if (cut.length > 0) warnings.push(`${rowCount(cut.length)} truncated at maxLength ${opts.maxLength} (${rowsLabel(cut)}); ${cut.length === 1 ? 'its reply loses' : 'their replies lose'} the end and the EOS`);
    const merged = samples.filter((s) => s.boundaryMerges > 0);
    if (merged.length > 0) {
      warnings.push(`${rowCount(merged.length)} had tokens merging across the prompt/reply boundary (${rowsLabel(merged)}); ${merged.length === 1 ? 'its reply was' : 'their replies were'} tokenized on their own`);
    }
  }
  errors.sort(compareLocations);
  const stats = computeStats(samples, { rowsRejected: errors.length, duplicates, maxLength: opts.maxLength, systemMessages, systemLeftOut: systemLeftOut.length });
  return { container: parsed.container, format, fields, warnings, errors, samples, stats };
}
