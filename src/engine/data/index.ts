/**
 * The data pipeline in one call: file bytes → rows (jsonl.ts) → normalized
 * samples (formats.ts) → template segments (templates.ts) → ids and labels
 * (tokenize.ts) → statistics (stats.ts). Splitting is left to the caller
 * (split.ts) so the UI can re-split without re-tokenizing.
 *
 * Every row that does not become a sample is in `errors` with its line and
 * reason; nothing is dropped silently.
 */
import { parseRows, type ByteSource, type RowError } from './jsonl';
import { detectFormat, mapRows, RowFormatError, type FieldMap, type FormatId } from './formats';
import { createTemplate, type PromptTemplate, type TemplateId, type TemplateTokens } from './templates';
import { tokenizeSample, type SegmentTokenizer, type TokenizedSample } from './tokenize';
import { computeStats, duplicateLines, type DatasetStats } from './stats';

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
  /** sorted by line */
  errors: RowError[];
  samples: TokenizedSample[];
  stats: DatasetStats;
}

const listLines = (lines: number[], max = 10) =>
  lines.slice(0, max).join(', ') + (lines.length > max ? `, … (${lines.length - max} more)` : '');

export async function prepareDataset(input: ByteSource, opts: PrepareOptions): Promise<PreparedDataset> {
  const parsed = await parseRows(input);
  const warnings: string[] = [];
  const errors: RowError[] = [...parsed.errors];

  let format: FormatId | null;
  let fields: FieldMap;
  if (opts.format) {
    format = opts.format;
    fields = { ...opts.fieldMap };
  } else {
    const det = detectFormat(parsed.rows.map((r) => r.value));
    warnings.push(...det.warnings);
    format = det.format;
    fields = { ...det.fields, ...opts.fieldMap };
  }

  const samples: TokenizedSample[] = [];
  let duplicates = 0;
  if (format === null) {
    for (const r of parsed.rows) errors.push({ line: r.line, ...(r.index !== undefined ? { index: r.index } : {}), reason: 'row is not in a known training format' });
  } else {
    const template = typeof opts.template === 'string' ? createTemplate(opts.template, opts.tokenizer) : opts.template;
    const mapped = mapRows(parsed.rows, { format, fields });
    errors.push(...mapped.errors);
    let multiTurnRejected = 0;
    const every = opts.progressEvery ?? 100;
    for (const [i, m] of mapped.samples.entries()) {
      if (opts.onProgress && i % every === 0) opts.onProgress(i, mapped.samples.length);
      try {
        samples.push(tokenizeSample(opts.tokenizer, m.sample, template, opts.maxLength, m));
      } catch (e) {
        if (!(e instanceof RowFormatError)) throw e;
        if (m.sample.kind === 'conversation' && m.sample.turns.length > 2) multiTurnRejected++;
        errors.push({ line: m.line, ...(m.index !== undefined ? { index: m.index } : {}), reason: e.message });
      }
    }
    opts.onProgress?.(mapped.samples.length, mapped.samples.length);
    if (multiTurnRejected > 0 && (template.id === 'plain' || template.id === 'alpaca')) {
      warnings.push(`${multiTurnRejected} multi-turn rows rejected: the ${template.id} template is single-turn; choose chatml or model to train them`);
    }
    const dups = duplicateLines(mapped.samples);
    duplicates = dups.length;
    if (dups.length > 0) warnings.push(`${dups.length} rows repeat an earlier row exactly (lines ${listLines(dups)}); they are kept`);
    const cut = samples.filter((s) => s.truncated).map((s) => s.line);
    if (cut.length > 0) warnings.push(`${cut.length} rows truncated at maxLength ${opts.maxLength} (lines ${listLines(cut)}); their replies lose the end and the EOS`);
    const merged = samples.filter((s) => s.boundaryMerges > 0).map((s) => s.line);
    if (merged.length > 0) {
      warnings.push(`${merged.length} rows had tokens merging across the prompt/reply boundary (lines ${listLines(merged)}); their replies were tokenized on their own`);
    }
  }
  errors.sort((a, b) => a.line - b.line || (a.index ?? 0) - (b.index ?? 0));
  const stats = computeStats(samples, { rowsRejected: errors.length, duplicates, maxLength: opts.maxLength });
  return { container: parsed.container, format, fields, warnings, errors, samples, stats };
}
