import { formatAtomic } from '../protocol/money/units.js';
import { terminalLine } from './terminal.js';

/** 113.5 → "$113.50"; dollar numbers from the API are display values, formatted without float math on money. */
export function dollars(value: number | string | undefined): string {
  if (value === undefined) return '-';
  const text = typeof value === 'number' ? value.toFixed(2) : value;
  return `$${text}`;
}

export function usdc(atomic: bigint): string {
  return `${formatAtomic(atomic)} USDC`;
}

export function maskCardNumber(cardNumber: string): string {
  return `•••• •••• •••• ${cardNumber.slice(-4)}`;
}

export function groupCardNumber(cardNumber: string): string {
  return cardNumber.replace(/(\d{4})(?=\d)/g, '$1 ');
}

/** Columns padded to width; each cell is kept to one line, so a server string cannot forge rows. */
export function table(rows: string[][]): string {
  const cells = rows.map((r) => r.map(terminalLine));
  const widths = cells[0]?.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length))) ?? [];
  return cells.map((r) => r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

/**
 * A one-line progress indicator on a terminal; plain lines elsewhere; nothing in --json mode. Its
 * text carries server strings (the reason of a 503 or 409), so it is kept to one safe line.
 */
export class Progress {
  private frame = 0;
  private timer: NodeJS.Timeout | undefined;
  private text = '';
  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly enabled: boolean,
  ) {}

  update(text: string): void {
    if (!this.enabled) return;
    this.text = terminalLine(text);
    if (!this.stream.isTTY) {
      this.stream.write(`… ${this.text}\n`);
      return;
    }
    if (!this.timer) {
      this.timer = setInterval(() => this.render(), 100);
      this.timer.unref();
    }
    this.render();
  }

  private render(): void {
    const frames = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';
    this.frame = (this.frame + 1) % frames.length;
    this.stream.write(`\r\x1b[2K${frames[this.frame]} ${this.text}`);
  }

  done(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.enabled && this.stream.isTTY) this.stream.write('\r\x1b[2K');
  }
}
