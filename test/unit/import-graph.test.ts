import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The layers of docs/ARCHITECTURE.md, enforced: the import graph of src/ (every static, type-only,
 * re-export and dynamic import, read with the TypeScript compiler's own pre-processor) has no cycle,
 * and no arrow crosses a layer the wrong way.
 */

const ROOT = path.resolve(import.meta.dirname, '../..');
const SRC = path.join(ROOT, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** src-relative path → the src-relative paths it imports (relative specifiers only; packages are not edges). */
function importGraph(files: string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const targets = info.importedFiles
      .map((ref) => ref.fileName)
      .filter((spec) => spec.startsWith('.'))
      .map((spec) => {
        const resolved = path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts');
        const target = resolved.endsWith('.ts') ? resolved : `${resolved}.ts`;
        return path.relative(SRC, target).split(path.sep).join('/');
      });
    graph.set(path.relative(SRC, file).split(path.sep).join('/'), [...new Set(targets)]);
  }
  return graph;
}

/** Every cycle's members, one entry per strongly connected component bigger than one file (or a self-import). */
function cycles(graph: Map<string, string[]>): string[][] {
  // Tarjan's algorithm, iterative enough for a few hundred files.
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    indexOf.set(node, index);
    low.set(node, index);
    index++;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!indexOf.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, indexOf.get(next)!));
      }
    }
    if (low.get(node) === indexOf.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(component.sort());
    }
  };
  for (const node of [...graph.keys()].sort()) if (!indexOf.has(node)) visit(node);
  return found;
}

interface Rule {
  name: string;
  /** The importing files the rule is about. */
  from: (file: string) => boolean;
  /** Whether `from` may import `to`. */
  allows: (to: string, from: string) => boolean;
}

const under = (folder: string) => (file: string) => file.startsWith(`${folder}/`);

/** The layer rules of docs/ARCHITECTURE.md ("Layers"). */
const RULES: Rule[] = [
  {
    name: 'src/client imports only src/protocol and itself',
    from: under('client'),
    allows: (to) => under('protocol')(to) || under('client')(to),
  },
  {
    name: 'src/cli imports only src/protocol, the SDK (src/client), the MCP server (src/mcp) and itself',
    from: under('cli'),
    allows: (to) => under('protocol')(to) || under('client')(to) || under('mcp')(to) || under('cli')(to),
  },
  {
    name: 'src/mcp imports only src/protocol, the SDK (src/client), src/version.ts and itself',
    from: under('mcp'),
    allows: (to) => under('protocol')(to) || under('client')(to) || to === 'version.ts' || under('mcp')(to),
  },
  {
    name: 'src/protocol imports nothing else of src/',
    from: under('protocol'),
    allows: (to) => under('protocol')(to),
  },
  {
    name: 'only src/server.ts, src/main.ts and src/localnet/ know the local ledger',
    from: (file) => !under('localnet')(file) && file !== 'server.ts' && file !== 'main.ts',
    allows: (to) => !under('localnet')(to),
  },
];

function violations(graph: Map<string, string[]>, rules: Rule[] = RULES): string[] {
  const out: string[] = [];
  for (const [from, targets] of graph) {
    for (const rule of rules) {
      if (!rule.from(from)) continue;
      for (const to of targets) if (!rule.allows(to, from)) out.push(`${rule.name}: src/${from} imports src/${to}`);
    }
  }
  return out.sort();
}

describe('the import graph of src/', () => {
  const graph = importGraph(sourceFiles(SRC));

  it('sees the whole of src/ (the walk found files and their imports)', () => {
    expect(graph.get('server.ts')).toContain('app.ts');
    expect(graph.size).toBeGreaterThan(50);
  });

  it('has no import cycle', () => {
    expect(cycles(graph), 'files that import each other, directly or around a loop').toEqual([]);
  });

  it('has no import that crosses a layer the wrong way', () => {
    expect(violations(graph), 'forbidden imports').toEqual([]);
  });
});

describe('the checks themselves', () => {
  it('find a cycle, and a forbidden import, when there is one', () => {
    const bad = new Map<string, string[]>([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['self.ts', ['self.ts']],
      ['client/sdk.ts', ['config.ts', 'protocol/x402.ts']],
      ['protocol/x402.ts', ['db/open.ts']],
      ['config.ts', ['localnet/config.ts']],
      ['server.ts', ['localnet/index.ts']],
    ]);
    expect(cycles(bad)).toEqual([['a.ts', 'b.ts', 'c.ts'], ['self.ts']]);
    expect(violations(bad)).toEqual([
      'only src/server.ts, src/main.ts and src/localnet/ know the local ledger: src/config.ts imports src/localnet/config.ts',
      'src/client imports only src/protocol and itself: src/client/sdk.ts imports src/config.ts',
      'src/protocol imports nothing else of src/: src/protocol/x402.ts imports src/db/open.ts',
    ]);
  });
});
