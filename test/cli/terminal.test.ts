import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Progress, table } from '../../src/cli/format.js';
import { terminalJson, terminalLine, terminalText } from '../../src/cli/terminal.js';

const HOSTILE = 'busy\u001b[2J\u001b]0;owned\u0007\u009b31m\u007f\r\nforged\tline\u202egnp.exe\u2066x\u2069';
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/** A terminal (isTTY) or a pipe that records what the CLI writes to it. */
function stream(isTTY: boolean): { stream: NodeJS.WriteStream; written: () => string } {
  const chunks: string[] = [];
  const writable = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return { stream: Object.assign(writable, { isTTY }) as unknown as NodeJS.WriteStream, written: () => chunks.join('') };
}

describe('the terminal sanitiser', () => {
  it('shows escapes, C1 controls and bidi overrides as U+FFFD; text keeps its lines, a line does not', () => {
    expect(terminalText(HOSTILE)).toBe('busy\uFFFD[2J\uFFFD]0;owned\uFFFD\uFFFD31m\uFFFD\uFFFD\nforged\tline\uFFFDgnp.exe\uFFFDx\uFFFD');
    expect(terminalLine(HOSTILE)).not.toMatch(/[\n\t]/);
    expect(terminalLine(HOSTILE)).not.toMatch(UNSAFE);
    expect(terminalLine('Ada Lovelace — 25.00 USDC, 名前')).toBe('Ada Lovelace — 25.00 USDC, 名前');
  });

  it('JSON keeps the data exact and puts no raw control or bidi character on the terminal', () => {
    const data = { name: HOSTILE, amount: 10n };
    const json = terminalJson(data, 2);
    expect(json).not.toMatch(UNSAFE);
    expect(json).toContain('\\u009b');
    expect(JSON.parse(json)).toEqual({ name: HOSTILE, amount: '10' });
  });

  it('a table cell cannot add a row or a column', () => {
    const out = table([
      ['card', 'name'],
      ['c1', HOSTILE],
    ]);
    expect(out.split('\n')).toHaveLength(2);
    expect(out).not.toMatch(UNSAFE);
  });
});

describe('the progress line', () => {
  it('on a pipe: one plain line per update, nothing of the escapes', () => {
    const pipe = stream(false);
    const progress = new Progress(pipe.stream, true);
    progress.update(`${HOSTILE}; retrying in 1 s`);
    progress.done();
    expect(pipe.written().split('\n')).toEqual([expect.stringMatching(/^… busy.*retrying in 1 s$/), '']);
    expect(pipe.written()).not.toMatch(UNSAFE);
  });

  it('on a terminal: only its own line-clearing sequence reaches the terminal', () => {
    const tty = stream(true);
    const progress = new Progress(tty.stream, true);
    progress.update(`${HOSTILE}; retrying in 1 s`);
    progress.done();
    const ownSequence = /\r\u001b\[2K/g;
    expect(tty.written()).toMatch(ownSequence);
    expect(tty.written().replace(ownSequence, '')).not.toMatch(UNSAFE);
    expect(tty.written().replace(ownSequence, '')).not.toContain('\n');
  });

  it('in --json mode: nothing', () => {
    const pipe = stream(false);
    new Progress(pipe.stream, false).update(HOSTILE);
    expect(pipe.written()).toBe('');
  });
});
