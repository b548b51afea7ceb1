import { parse } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { CliError } from '../../src/cli/errors.js';
import { setTomlTable, tomlHeaders } from '../../src/cli/mcp-config/toml-table.js';

const PATH = ['mcp_servers', 'card402'];
const VALUES = { command: '/usr/bin/node', args: ['/opt/card402/bin/card402.js', 'mcp'], env: { CARD402_API_URL: 'http://localhost:4020', 'ODD KEY': 'a "quoted" \\ value' } };

describe('the Codex TOML table edit', () => {
  it('finds headers, and not brackets inside strings, multi-line strings or multi-line arrays', () => {
    const lines = ['a = "[x]"', "b = '''", '[not.a.header]', "'''", 'c = [', '  [1, 2],', ']', '[ "quoted".bare ]  # comment', '[[array.of.tables]]'];
    expect(tomlHeaders(lines)).toEqual([
      { line: 7, key: ['quoted', 'bare'] },
      { line: 8, key: ['array', 'of', 'tables'] },
    ]);
  });

  it('writes a new file, escaping what needs escaping, and reads back exactly', () => {
    const text = setTomlTable('', PATH, VALUES, 'config.toml');
    expect(parse(text)).toEqual({ mcp_servers: { card402: VALUES } });
  });

  it('replaces a quoted-header card402 table and its sub-table in place, keeping the rest intact', () => {
    const before = 'x = 1\n\n[mcp_servers."card402"]\ncommand = "old"\n\n[mcp_servers.card402.env]\nOLD = "1"\n\n[z]\ny = 2\n';
    const text = setTomlTable(before, PATH, VALUES, 'config.toml');
    expect(parse(text)).toEqual({ x: 1, mcp_servers: { card402: VALUES }, z: { y: 2 } });
    expect(text.startsWith('x = 1\n\n[mcp_servers.card402]\n')).toBe(true);
    expect(text.endsWith('[z]\ny = 2\n')).toBe(true);
  });

  it.each([
    ['an inline table', 'mcp_servers = { card402 = { command = "x" } }\n'],
    ['dotted keys', '[mcp_servers]\ncard402.command = "x"\n'],
    ['root dotted keys', 'mcp_servers.card402.command = "x"\n'],
  ])('refuses card402 defined as %s, and never returns a broken file', (_name, before) => {
    expect(() => setTomlTable(before, PATH, VALUES, 'config.toml')).toThrow(CliError);
  });

  it('refuses a file that is not TOML', () => {
    expect(() => setTomlTable('[unclosed\n', PATH, VALUES, 'config.toml')).toThrow(/not valid TOML/);
  });
});
