/**
 * Template segments → token ids and labels.
 *
 * `labels` follow the Hugging Face convention: same length as `ids`, not
 * shifted (the loss compares position t's logits with labels[t + 1]),
 * IGNORE_INDEX (-100) on every token that is not trained — BOS, system, user
 * and template scaffolding — and the token's own id on reply tokens and on
 * the EOS that ends the reply (trained, so the model learns to stop).
 *
 * Prompt/response boundary. The masked prompt is tokenized exactly as
 * generation will tokenize it: BOS (if the model has one) + encode(prompt).
 * The reply's ids are then taken from encode(prompt + reply) after that
 * prefix. When the prompt ids are NOT a prefix of the full ids (BPE merged
 * characters across the boundary, e.g. a prompt ending in "Response: " with a
 * trailing space and a reply "Once": "▁" + "Once" → "▁Once"), we keep the
 * prompt ids as generation sees them and tokenize the reply on its own as a
 * continuation (`encodeContinuation`), then concatenate. Training on the
 * merged tokens instead would condition the reply on a prompt tokenization
 * that generation never feeds the model. Such rows are counted
 * (`boundaryMerges`) so the UI can point at a template that invites them.
 *
 * Truncation at maxLength cuts from the right (the end of the reply and its
 * EOS go first) and marks the sample truncated. A row whose prompt leaves no
 * room for a single trained token is rejected instead.
 */
import { RowFormatError, type Sample } from './formats';
import { locationOf, type RowLocation } from './location';
import type { PromptTemplate, Segment } from './templates';

export const IGNORE_INDEX = -100;

/** What tokenization needs from the tokenizer (TextTokenizer has all of it). */
export interface SegmentTokenizer {
  encode(text: string): number[];
  bosId: number | null;
  bosToken: string | null;
  eosIds: number[];
}

/** A row's ids and labels; its location is the source row's (a line, or an element of a JSON array). */
export interface TokenizedSample extends RowLocation {
  ids: number[];
  labels: number[];
  /** cut at maxLength; the reply's end (and EOS) are missing */
  truncated: boolean;
  /** tokens with a label (reply tokens + EOS) */
  responseTokens: number;
  /** segments whose tokens merged across a boundary and were re-tokenized separately */
  boundaryMerges: number;
}

function startsWith(a: number[], prefix: number[]): boolean {
  if (prefix.length > a.length) return false;
  for (let i = 0; i < prefix.length; i++) if (a[i] !== prefix[i]) return false;
  return true;
}

/** Whether to add the BOS id: the model has one and the text does not already start with it (some chat templates write it). */
function needsBos(tok: SegmentTokenizer, text: string): boolean {
  return tok.bosId != null && !(tok.bosToken && text.startsWith(tok.bosToken));
}

/**
 * Ids of a prompt as generation must feed it: BOS (unless absent or already
 * written by the template) + encode(text). Use this, not a bare encode, when
 * generating from a template's generationPrompt.
 */
export function promptIds(tok: SegmentTokenizer, text: string): number[] {
  const ids = tok.encode(text);
  return needsBos(tok, text) ? [tok.bosId!, ...ids] : ids;
}

const ANCHOR = '\n';

/**
 * Ids of `text` as it reads when it continues earlier text. A bare encode
 * would treat it as the start of a document (SentencePiece-style
 * normalizers prepend "▁", so " Once" would become "▁" "▁Once"); encoding
 * "\n" + text and dropping the anchor's ids avoids that. Falls back to a bare
 * encode when the text merges with the anchor.
 */
export function encodeContinuation(tok: SegmentTokenizer, text: string): number[] {
  const anchor = tok.encode(ANCHOR);
  const withAnchor = tok.encode(ANCHOR + text);
  return startsWith(withAnchor, anchor) ? withAnchor.slice(anchor.length) : tok.encode(text);
}

export interface SegmentTokens {
  ids: number[];
  labels: number[];
  boundaryMerges: number;
}

/** Tokenize template segments into ids and labels (no truncation). */
export function tokenizeSegments(tok: SegmentTokenizer, segments: Segment[]): SegmentTokens {
  const first = segments.find((s) => s.kind === 'text');
  const bos = first && first.kind === 'text' && needsBos(tok, first.text);
  const ids: number[] = bos ? [tok.bosId!] : [];
  const labels: number[] = bos ? [IGNORE_INDEX] : [];
  const bosLen = ids.length;
  let text = ''; // all text so far
  let canonical = true; // ids (after BOS) === encode(text)
  let boundaryMerges = 0;
  for (const seg of segments) {
    if (seg.kind === 'eos') {
      if (tok.eosIds.length === 0) throw new Error('the tokenizer has no EOS token; cannot end replies');
      const last = ids.length - 1;
      // A template reply may already end in the EOS (e.g. chatml when EOS is <|im_end|>).
      if (last >= 0 && tok.eosIds.includes(ids[last]) && labels[last] !== IGNORE_INDEX) continue;
      ids.push(tok.eosIds[0]);
      labels.push(tok.eosIds[0]);
      canonical = false; // the EOS id is not part of `text`
      continue;
    }
    if (seg.text === '') continue;
    let segIds: number[];
    if (canonical) {
      const full = tok.encode(text + seg.text);
      const before = ids.slice(bosLen);
      if (startsWith(full, before)) {
        segIds = full.slice(before.length);
      } else {
        segIds = encodeContinuation(tok, seg.text);
        boundaryMerges++;
        canonical = false;
      }
    } else {
      segIds = encodeContinuation(tok, seg.text);
    }
    text += seg.text;
    for (const id of segIds) {
      ids.push(id);
      labels.push(seg.train ? id : IGNORE_INDEX);
    }
  }
  return { ids, labels, boundaryMerges };
}

/** Template segments of a sample: text samples train every token and end with EOS. */
export function sampleSegments(sample: Sample, template: PromptTemplate): Segment[] {
  if (sample.kind === 'text') return [{ kind: 'text', text: sample.text, train: true }, { kind: 'eos' }];
  return template.segments(sample);
}

/**
 * Whether a conversation's system message made it into the text a template
 * wrote (a chat template may have no place for it). Compared after trimming,
 * as templates often trim message content.
 */
export function writesSystem(sample: Sample, segments: Segment[]): boolean | null {
  if (sample.kind !== 'conversation' || !sample.system) return null;
  const system = sample.system.trim();
  return segments.some((s) => s.kind === 'text' && s.text.includes(system));
}

/**
 * Tokenize one sample, truncated to maxLength from the right. Throws
 * RowFormatError when the template cannot render it or nothing trainable fits.
 */
export function tokenizeSample(
  tok: SegmentTokenizer,
  sample: Sample,
  template: PromptTemplate,
  maxLength: number,
  where: RowLocation = { line: 0 },
): TokenizedSample {
  return tokenizeSampleSegments(tok, sampleSegments(sample, template), maxLength, where);
}

/** tokenizeSample for segments already rendered (prepareDataset looks at them first). */
export function tokenizeSampleSegments(tok: SegmentTokenizer, segments: Segment[], maxLength: number, where: RowLocation = { line: 0 }): TokenizedSample {
  const { ids, labels, boundaryMerges } = tokenizeSegments(tok, segments);
  const firstTrained = labels.findIndex((l) => l !== IGNORE_INDEX);
  if (firstTrained === -1) throw new RowFormatError('no trained tokens (empty reply)');
  if (firstTrained >= maxLength) {
    throw new RowFormatError(`prompt is ${firstTrained} tokens; maxLength ${maxLength} leaves no room for the reply`);
  }
  const truncated = ids.length > maxLength;
  if (truncated) {
    ids.length = maxLength;
    labels.length = maxLength;
  }
  return {
    ids,
    labels,
    ...locationOf(where),
    truncated,
    responseTokens: labels.reduce((n, l) => n + (l !== IGNORE_INDEX ? 1 : 0), 0),
    boundaryMerges,
  };
}
