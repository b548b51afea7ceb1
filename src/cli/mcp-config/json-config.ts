import { CliError } from '../errors.js';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseOrRefuse(text: string, fileName: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new CliError(`${fileName} is not valid JSON, so it was left untouched: ${(err as Error).message}`);
  }
  if (!isObject(parsed)) throw new CliError(`${fileName} does not hold a JSON object, so it was left untouched`);
  return parsed;
}

/** The indentation the file already uses (Claude Code and Cursor write two spaces). */
function indentOf(text: string): string | number {
  const match = /\n([ \t]+)"/.exec(text);
  return match ? match[1]! : 2;
}

/**
 * `text` with `servers[name] = entry` at `serversPath` (e.g. `mcpServers`); every other key and
 * server kept, in order. Refuses a file that is not a JSON object, or whose servers are not one.
 */
export function setJsonServer(text: string, serversPath: string[], name: string, entry: Record<string, unknown>, fileName: string): string {
  const doc = parseOrRefuse(text, fileName);
  let node = doc;
  for (const part of serversPath) {
    const next = node[part];
    if (next === undefined) node[part] = {};
    else if (!isObject(next)) throw new CliError(`${fileName}: "${serversPath.join('.')}" is not an object, so the file was left untouched`);
    node = node[part] as Record<string, unknown>;
  }
  node[name] = entry;
  return JSON.stringify(doc, null, indentOf(text)) + '\n';
}

/** The server `name` of a JSON config, or undefined; throws CliError when the text is not a JSON object. */
export function readJsonServer(text: string, serversPath: string[], name: string, fileName: string): unknown {
  let node: unknown = parseOrRefuse(text, fileName);
  for (const part of [...serversPath, name]) node = isObject(node) ? node[part] : undefined;
  return node;
}
