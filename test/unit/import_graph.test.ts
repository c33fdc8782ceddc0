/**
 * Every import arrow points one way: UI → worker → engine → kernels (the CLI
 * sits beside the UI, above the engine), and no module imports itself back
 * through others. Reads the relative imports of every .ts/.svelte file under
 * src/ and kernels/ and looks for cycles (Tarjan's strongly connected
 * components) and for arrows that point up a layer.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');
const LAYER: [string, number][] = [
  ['kernels/', 0],
  ['src/engine/', 1],
  ['src/worker/', 2],
  ['src/ui/', 3],
  ['src/cli/', 3],
];
const layerOf = (f: string) => LAYER.find(([p]) => f.startsWith(p))?.[1] ?? -1;

function sources(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const rel = path.posix.join(dir, e.name);
      if (e.isDirectory()) walk(rel);
      else if (/\.(ts|svelte)$/.test(e.name)) out.push(rel);
    }
  };
  walk('src');
  walk('kernels');
  return out;
}

function importGraph(): Map<string, string[]> {
  const files = sources();
  const known = new Set(files);
  const spec = /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const text = fs.readFileSync(path.join(ROOT, f), 'utf8');
    const targets = new Set<string>();
    for (const m of text.matchAll(spec)) {
      const s = (m[1] ?? m[2]).replace(/\?.*$/, '');
      if (!s.startsWith('.')) continue;
      const base = path.posix.normalize(path.posix.join(path.posix.dirname(f), s));
      const hit = [base, `${base}.ts`, `${base}/index.ts`].find((c) => known.has(c));
      if (hit) targets.add(hit);
    }
    graph.set(f, [...targets]);
  }
  return graph;
}

function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(comp.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe('import graph', () => {
  const graph = importGraph();

  it('reads the imports it checks', () => {
    expect(graph.size).toBeGreaterThan(100);
    expect(graph.get('src/engine/ops/attention.ts')).toContain('kernels/attention_shapes.ts');
    expect(graph.get('src/ui/state/train.svelte.ts')).toContain('src/ui/state/dataset.svelte.ts');
  });

  it('has no import circles', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('points every arrow down: UI and CLI → worker → engine → kernels', () => {
    const upward: string[] = [];
    for (const [f, targets] of graph) for (const t of targets) if (layerOf(t) > layerOf(f)) upward.push(`${f} → ${t}`);
    expect(upward).toEqual([]);
  });

  it('finds a planted circle', () => {
    expect(cycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]))).toEqual([['a', 'b', 'c']]);
  });
});
