/**
 * The one sanitiser between the server and the user's terminal. What the CLI prints carries text
 * the server chose (error messages, names, statuses, the 503 reason in the progress line) and,
 * through it, text whoever named a card chose. Every string the CLI writes passes through here so
 * that none can move the cursor, clear the screen, set the window title or reorder what is shown:
 * - C0 controls (ESC starts every escape sequence, CR rewrites the line), DEL, and C1 controls
 *   (U+009B is a one-character CSI on terminals that honour 8-bit controls);
 * - Unicode bidirectional marks, overrides and isolates, which make text show in another order
 *   than it is (an address or an amount displayed reversed).
 * They are shown as U+FFFD. JSON output keeps the data exact instead: the same characters are
 * escaped as \uXXXX, which a JSON parser reads back unchanged.
 */
const UNSAFE_CLASS = '\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069';
const UNSAFE_IN_TEXT = new RegExp(`[${UNSAFE_CLASS}]`, 'g');
const UNSAFE_IN_LINE = new RegExp(`[\\n\\t${UNSAFE_CLASS}]`, 'g');
export const REPLACEMENT_CHARACTER = '\uFFFD';

/** Multi-line human output: unsafe characters become U+FFFD; newlines and tabs, which our own layout uses, stay. */
export function terminalText(text: string): string {
  return text.replace(UNSAFE_IN_TEXT, REPLACEMENT_CHARACTER);
}

/** Text that must stay on one line (the progress line, an error, a table cell): newlines and tabs are replaced too. */
export function terminalLine(text: string): string {
  return text.replace(UNSAFE_IN_LINE, REPLACEMENT_CHARACTER);
}

/** JSON text for a terminal or a pipe: bigints as strings; unsafe characters escaped (JSON.stringify escapes only C0). */
export function terminalJson(value: unknown, indent?: number): string {
  const json = JSON.stringify(value, (_key, inner: unknown) => (typeof inner === 'bigint' ? inner.toString() : inner), indent);
  return json.replace(UNSAFE_IN_TEXT, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
