import { describe, expect, test } from 'vitest';
import { classifyMcRow, detectMcFormat, mapMcRow, parseMultipleChoice, type McFormatId } from '../../src/engine/eval/mc_formats';

const jsonl = (...rows: unknown[]) => rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n';

const MMLU = { question: 'What is 2+2?', choices: ['3', '4', '5'], answer: 1 };
const ARC = {
  question: { stem: 'Which is a mammal?', choices: [{ text: 'shark', label: 'A' }, { text: 'whale', label: 'B' }, { text: 'trout', label: 'C' }] },
  answerKey: 'B',
};
const HELLASWAG = { ctx: 'She picks up the ball and', endings: ['throws it.', 'eats it.', 'sings.', 'melts.'], label: '0' };

describe('detection', () => {
  const cases: [McFormatId, Record<string, unknown>][] = [
    ['mmlu', MMLU],
    ['arc', ARC],
    ['hellaswag', HELLASWAG],
  ];
  test.each(cases)('%s rows are detected and parsed', async (format, row) => {
    expect(classifyMcRow(row)).toBe(format);
    const r = await parseMultipleChoice(jsonl(row, row));
    expect(r.format).toBe(format);
    expect(r.errors).toEqual([]);
    expect(r.items.map((i) => i.line)).toEqual([1, 2]);
  });

  test('majority vote; unknown rows give no format', () => {
    expect(detectMcFormat([MMLU, MMLU, ARC])).toEqual({ format: 'mmlu', matched: 2, examined: 3 });
    expect(detectMcFormat([{ instruction: 'x', response: 'y' }]).format).toBeNull();
  });
});

describe('mapping', () => {
  test('mmlu: index or letter answer', () => {
    expect(mapMcRow(MMLU, 'mmlu')).toEqual({ question: 'What is 2+2?', choices: ['3', '4', '5'], gold: 1 });
    expect(mapMcRow({ ...MMLU, answer: 'C' }, 'mmlu').gold).toBe(2);
    expect(mapMcRow({ ...MMLU, answer: 'A' }, 'mmlu').gold).toBe(0);
  });

  test('arc: the gold choice is the one labelled answerKey (letters or digits)', () => {
    expect(mapMcRow(ARC, 'arc')).toEqual({ question: 'Which is a mammal?', choices: ['shark', 'whale', 'trout'], gold: 1 });
    const digits = { question: { stem: 'q', choices: [{ text: 'a', label: '1' }, { text: 'b', label: '2' }] }, answerKey: '2' };
    expect(mapMcRow(digits, 'arc').gold).toBe(1);
  });

  test('hellaswag: label as a number or a numeric string', () => {
    expect(mapMcRow(HELLASWAG, 'hellaswag')).toEqual({ question: 'She picks up the ball and', choices: HELLASWAG.endings, gold: 0 });
    expect(mapMcRow({ ...HELLASWAG, label: 3 }, 'hellaswag').gold).toBe(3);
  });

  const errors: [string, McFormatId, Record<string, unknown>, RegExp][] = [
    ['mmlu missing question', 'mmlu', { choices: ['a', 'b'], answer: 0 }, /^missing field "question"$/],
    ['mmlu missing answer', 'mmlu', { question: 'q', choices: ['a', 'b'] }, /^missing field "answer"$/],
    ['mmlu answer out of range', 'mmlu', { ...MMLU, answer: 3 }, /^field "answer": 3 is out of range for 3 choices \(0\.\.2\)$/],
    ['mmlu negative answer', 'mmlu', { ...MMLU, answer: -1 }, /^field "answer": -1 is out of range/],
    ['mmlu fractional answer', 'mmlu', { ...MMLU, answer: 1.5 }, /^field "answer": 1\.5 is not a whole number$/],
    ['mmlu letter out of range', 'mmlu', { ...MMLU, answer: 'D' }, /^field "answer": "D" is out of range for 3 choices \(A\.\.C\)$/],
    ['mmlu bad letter', 'mmlu', { ...MMLU, answer: 'b' }, /^field "answer": "b" is neither an index nor a letter A\.\.C$/],
    ['mmlu numeric string answer', 'mmlu', { ...MMLU, answer: '1' }, /^field "answer": "1" is neither an index nor a letter/],
    ['mmlu answer of a wrong type', 'mmlu', { ...MMLU, answer: null }, /^field "answer" is null, expected an index or a letter$/],
    ['mmlu empty choices', 'mmlu', { ...MMLU, choices: [] }, /^field "choices" is empty$/],
    ['mmlu one choice', 'mmlu', { ...MMLU, choices: ['x'], answer: 0 }, /^field "choices" has 1 choice; an item needs at least 2$/],
    ['mmlu choices not a list', 'mmlu', { ...MMLU, choices: 'abc' }, /^field "choices" is a string, expected a list$/],
    ['mmlu empty choice text', 'mmlu', { ...MMLU, choices: ['a', '  ', 'c'] }, /^choices\[1\] is empty$/],
    ['mmlu choice not a string', 'mmlu', { ...MMLU, choices: ['a', 2, 'c'] }, /^choices\[1\] is a number, expected a string$/],
    ['mmlu empty question', 'mmlu', { ...MMLU, question: '' }, /^field "question" is empty$/],
    ['arc missing stem', 'arc', { question: { choices: ARC.question.choices }, answerKey: 'A' }, /^missing field "question\.stem"$/],
    ['arc question a string', 'arc', { question: 'q', answerKey: 'A' }, /^field "question" is a string, expected an object/],
    ['arc missing label', 'arc', { question: { stem: 'q', choices: [{ text: 'a' }, { text: 'b', label: 'B' }] }, answerKey: 'B' }, /^missing field "question\.choices\[0\]\.label"$/],
    ['arc missing answerKey', 'arc', { question: ARC.question }, /^missing field "answerKey"$/],
    ['arc answerKey not a label', 'arc', { ...ARC, answerKey: 'E' }, /^field "answerKey": "E" is none of the choice labels \(A, B, C\)$/],
    ['arc repeated label', 'arc', { question: { stem: 'q', choices: [{ text: 'a', label: 'A' }, { text: 'b', label: 'A' }] }, answerKey: 'A' }, /label "A" repeats/],
    ['arc empty choices', 'arc', { question: { stem: 'q', choices: [] }, answerKey: 'A' }, /^field "question\.choices" is empty$/],
    ['hellaswag label out of range', 'hellaswag', { ...HELLASWAG, label: '4' }, /^field "label": "4" is out of range for 4 choices \(0\.\.3\)$/],
    ['hellaswag label a letter', 'hellaswag', { ...HELLASWAG, label: 'A' }, /^field "label" is "A", not a number, expected an index$/],
    ['hellaswag missing endings', 'hellaswag', { ctx: 'c', label: 0 }, /^missing field "endings"$/],
  ];
  test.each(errors)('%s', (_name, format, row, message) => {
    expect(() => mapMcRow(row, format)).toThrow(message);
  });
});

describe('parseMultipleChoice', () => {
  test('bad rows are skipped and reported by line with field and reason; good rows keep their lines', async () => {
    const file = jsonl(
      MMLU, // 1
      '{"question": "broken",', // 2: not JSON
      { ...MMLU, answer: 7 }, // 3
      '', // 4: blank, ignored
      { question: 'q', choices: [], answer: 0 }, // 5
      [1, 2], // 6: not an object
      ARC, // 7: another format
      { ...MMLU, answer: 'B' }, // 8
      { ...MMLU, answer: 'Z' }, // 9
      { choices: ['a', 'b'], answer: 0 }, // 10: no question
    );
    const r = await parseMultipleChoice(file);
    expect(r.format).toBe('mmlu');
    expect(r.items.map((i) => [i.line, i.gold])).toEqual([
      [1, 1],
      [8, 1],
    ]);
    expect(r.errors.map((e) => e.line)).toEqual([2, 3, 5, 6, 7, 9, 10]);
    const reason = (line: number) => r.errors.find((e) => e.line === line)!.reason;
    expect(reason(2)).toMatch(/^invalid JSON/);
    expect(reason(3)).toMatch(/field "answer": 7 is out of range for 3 choices/);
    expect(reason(5)).toBe('field "choices" is empty');
    expect(reason(6)).toMatch(/not a JSON object/);
    expect(reason(7)).toMatch(/field "question" is an object.*\(the row looks like arc; the file is mmlu\)/);
    expect(reason(9)).toMatch(/"Z" is out of range/);
    expect(reason(10)).toBe('missing field "question"');
    expect(r.warnings[0]).toMatch(/do not look like mmlu/);
  });

  test('a JSON array file reports elements by index and line', async () => {
    const r = await parseMultipleChoice(`[\n${JSON.stringify(HELLASWAG)},\n${JSON.stringify({ ...HELLASWAG, label: 9 })}\n]`);
    expect(r.container).toBe('json-array');
    expect(r.items).toHaveLength(1);
    expect(r.errors).toEqual([{ line: 3, index: 1, reason: 'field "label": 9 is out of range for 4 choices (0..3)' }]);
  });

  test('a file of no multiple-choice format: every row is an error, with a warning naming the fields seen', async () => {
    const r = await parseMultipleChoice(jsonl({ instruction: 'x', response: 'y' }, { instruction: 'z', response: 'w' }));
    expect(r.format).toBeNull();
    expect(r.items).toEqual([]);
    expect(r.errors.map((e) => e.line)).toEqual([1, 2]);
    expect(r.warnings[0]).toMatch(/fields seen: instruction, response/);
  });
});
