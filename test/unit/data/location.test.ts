/** How rows are named: a JSON Lines line, or a row of a JSON array (never "line 1" for every element). */
import { describe, expect, test } from 'vitest';
import { compareLocations, locationOf, rowLabel, rowNumber, rowsLabel } from '../../../src/engine/data/location';

describe('rowLabel / rowsLabel', () => {
  test('a JSONL row is its line; an array element is its 1-based position in the array', () => {
    expect(rowLabel({ line: 17 })).toBe('line 17');
    expect(rowLabel({ line: 1, index: 16 })).toBe('row 17 of the array');
    expect([rowNumber({ line: 17 }), rowNumber({ line: 1, index: 16 })]).toEqual([17, 17]);
  });

  test('lists: singular, plural, and the rest counted after max', () => {
    expect(rowsLabel([{ line: 8 }])).toBe('line 8');
    expect(rowsLabel([{ line: 3 }, { line: 8 }])).toBe('lines 3, 8');
    expect(rowsLabel([{ line: 1, index: 0 }])).toBe('row 1 of the array');
    const many = Array.from({ length: 13 }, (_, i) => ({ line: 1, index: i * 2 }));
    expect(rowsLabel(many)).toBe('rows 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, … (3 more) of the array');
    expect(rowsLabel(many, 2)).toBe('rows 1, 3, … (11 more) of the array');
  });

  test('locationOf keeps only the location; file order sorts array rows by position', () => {
    expect(locationOf({ line: 3, index: 2, value: {} } as never)).toEqual({ line: 3, index: 2 });
    expect(locationOf({ line: 3, reason: 'x' } as never)).toEqual({ line: 3 });
    const sorted = [{ line: 1, index: 5 }, { line: 1, index: 2 }, { line: 1 }].sort(compareLocations);
    expect(sorted).toEqual([{ line: 1 }, { line: 1, index: 2 }, { line: 1, index: 5 }]);
    expect([{ line: 9 }, { line: 2 }].sort(compareLocations)).toEqual([{ line: 2 }, { line: 9 }]);
  });
});
