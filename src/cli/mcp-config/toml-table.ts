import { parse as parseToml } from 'smol-toml';
import { isDeepStrictEqual } from 'node:util';
import { CliError } from '../errors.js';

/**
 * A minimal, careful edit of one table in a TOML file (Codex's `[mcp_servers.<name>]`): the
 * user's comments, order and formatting elsewhere stay byte for byte. The edit is line based:
 * a small scanner finds the table headers (skipping strings, multi-line strings, comments and
 * multi-line arrays), the sections of our table and its sub-tables are replaced by the new ones,
 * or the new ones are appended. smol-toml then parses the old and the new text and the edit is
 * refused unless everything but our table reads back identical and our table reads back as
 * written — so a file this scanner misreads is never written.
 */

export type TomlValue = string | string[] | Record<string, string>;

interface Header {
  line: number;
  key: string[];
}

function parseKey(text: string): string[] | null {
  const parts: string[] = [];
  let i = 0;
  const skipWs = () => {
    while (text[i] === ' ' || text[i] === '\t') i++;
  };
  while (true) {
    skipWs();
    const ch = text[i];
    if (ch === '"') {
      let out = '';
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\') {
          const next = text[i + 1];
          out += next === 'n' ? '\n' : next === 't' ? '\t' : (next ?? '');
          i += 2;
        } else out += text[i++];
      }
      if (text[i] !== '"') return null;
      i++;
      parts.push(out);
    } else if (ch === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) return null;
      parts.push(text.slice(i + 1, end));
      i = end + 1;
    } else {
      const match = /^[A-Za-z0-9_-]+/.exec(text.slice(i));
      if (!match) return null;
      parts.push(match[0]);
      i += match[0].length;
    }
    skipWs();
    if (i >= text.length) return parts;
    if (text[i] !== '.') return null;
    i++;
  }
}

/** The table headers of a TOML text, with their line numbers (0-based). */
export function tomlHeaders(lines: string[]): Header[] {
  const headers: Header[] = [];
  let multiline: '"""' | "'''" | null = null;
  let depth = 0;
  lines.forEach((line, lineNo) => {
    let i = 0;
    if (!multiline && depth === 0) {
      const trimmed = line.trimStart();
      if (trimmed.startsWith('[')) {
        const isArray = trimmed.startsWith('[[');
        const open = isArray ? 2 : 1;
        const close = trimmed.indexOf(isArray ? ']]' : ']', open);
        const key = close > 0 ? parseKey(trimmed.slice(open, close)) : null;
        if (key) headers.push({ line: lineNo, key });
        return;
      }
    }
    while (i < line.length) {
      if (multiline) {
        if (multiline === '"""' && line[i] === '\\') {
          i += 2;
          continue;
        }
        if (line.startsWith(multiline, i)) {
          i += 3;
          multiline = null;
          continue;
        }
        i++;
        continue;
      }
      const ch = line[i]!;
      if (ch === '#') break;
      if (line.startsWith('"""', i) || line.startsWith("'''", i)) {
        multiline = line.slice(i, i + 3) as '"""' | "'''";
        i += 3;
        continue;
      }
      if (ch === '"') {
        i++;
        while (i < line.length && line[i] !== '"') i += line[i] === '\\' ? 2 : 1;
        i++;
        continue;
      }
      if (ch === "'") {
        const end = line.indexOf("'", i + 1);
        i = end < 0 ? line.length : end + 1;
        continue;
      }
      if (ch === '[' || ch === '{') depth++;
      if (ch === ']' || ch === '}') depth = Math.max(0, depth - 1);
      i++;
    }
  });
  return headers;
}

function tomlString(value: string): string {
  return `"${value.replace(/[\\"\u0000-\u001f\u007f]/g, (ch) => {
    if (ch === '\\') return '\\\\';
    if (ch === '"') return '\\"';
    if (ch === '\n') return '\\n';
    if (ch === '\t') return '\\t';
    return `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
  })}"`;
}

function tomlKey(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : tomlString(key);
}

/** `[prefix]` with its plain values, then one `[prefix.sub]` per object value. */
export function renderTable(prefix: string[], values: Record<string, TomlValue>): string[] {
  const header = prefix.map(tomlKey).join('.');
  const lines = [`[${header}]`];
  const subTables: string[] = [];
  for (const [key, value] of Object.entries(values)) {
    if (typeof value === 'string') lines.push(`${tomlKey(key)} = ${tomlString(value)}`);
    else if (Array.isArray(value)) lines.push(`${tomlKey(key)} = [${value.map(tomlString).join(', ')}]`);
    else {
      subTables.push('', `[${header}.${tomlKey(key)}]`);
      for (const [k, v] of Object.entries(value)) subTables.push(`${tomlKey(k)} = ${tomlString(v)}`);
    }
  }
  return [...lines, ...subTables];
}

function parseOrRefuse(text: string, what: string): Record<string, unknown> {
  try {
    return parseToml(text) as Record<string, unknown>;
  } catch (err) {
    throw new CliError(`${what} is not valid TOML, so it was left untouched: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** `doc` without the table at `path`, and without parents that only held it (so a new file compares equal to none). */
function withoutTable(doc: Record<string, unknown>, path: string[]): Record<string, unknown> {
  const copy = structuredClone(doc);
  const chain: Record<string, unknown>[] = [copy];
  for (const part of path.slice(0, -1)) {
    const next: unknown = chain[chain.length - 1]![part];
    if (!next || typeof next !== 'object' || Array.isArray(next)) return copy;
    chain.push(next as Record<string, unknown>);
  }
  delete chain[chain.length - 1]![path[path.length - 1]!];
  for (let i = chain.length - 1; i > 0; i--) {
    if (Object.keys(chain[i]!).length > 0) break;
    delete chain[i - 1]![path[i - 1]!];
  }
  return copy;
}

function tableAt(doc: Record<string, unknown>, path: string[]): unknown {
  let node: unknown = doc;
  for (const part of path) node = node && typeof node === 'object' ? (node as Record<string, unknown>)[part] : undefined;
  return node;
}

const startsWith = (key: string[], prefix: string[]) => prefix.every((part, i) => key[i] === part);

/** `text` with the table at `path` set to `values` (replaced if present, else appended); verified by parsing. */
export function setTomlTable(text: string, path: string[], values: Record<string, TomlValue>, fileName: string): string {
  const before = parseOrRefuse(text, fileName);
  const lines = text === '' ? [] : text.replace(/\r\n/g, '\n').split('\n');
  const headers = tomlHeaders(lines);
  const kept: string[] = [];
  let insertAt: number | undefined;
  let skipping = false;
  let nextHeader = 0;
  for (let i = 0; i < lines.length; i++) {
    const header = headers[nextHeader]?.line === i ? headers[nextHeader++] : undefined;
    if (header) {
      skipping = startsWith(header.key, path);
      if (skipping && insertAt === undefined) insertAt = kept.length;
    }
    if (!skipping) kept.push(lines[i]!);
  }
  const block = renderTable(path, values);
  let out: string[];
  if (insertAt !== undefined) {
    out = [...kept.slice(0, insertAt), ...block, '', ...kept.slice(insertAt)];
  } else {
    while (kept.length > 0 && kept[kept.length - 1] === '') kept.pop();
    out = kept.length > 0 ? [...kept, '', ...block] : block;
  }
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  const result = out.join('\n') + '\n';

  const after = parseOrRefuse(result, `the new ${fileName}`);
  const asWritten = isDeepStrictEqual(JSON.parse(JSON.stringify(tableAt(after, path) ?? null)), JSON.parse(JSON.stringify(values)));
  const restSame = isDeepStrictEqual(withoutTable(after, path), withoutTable(before, path));
  if (!asWritten || !restSame) {
    throw new CliError(
      `${fileName} defines [${path.join('.')}] in a form this writer does not edit (dotted keys or an inline table); it was left untouched: remove that entry, or edit the file by hand`,
    );
  }
  return result;
}

/** The table at `path` of a TOML text, or undefined; throws CliError when the text is not TOML. */
export function readTomlTable(text: string, path: string[], fileName: string): unknown {
  return tableAt(parseOrRefuse(text, fileName), path);
}
