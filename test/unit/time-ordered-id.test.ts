import { describe, expect, it } from 'vitest';
import { isUuid } from '../../src/protocol/api.js';
import { timeOrderedHex, timeOrderedUuid } from '../../src/db/time-ordered-id.js';

describe('time-ordered ids', () => {
  it('UUIDv7: a UUID with version 7, variant 10 and the time in its first 48 bits', () => {
    const t = Date.UTC(2026, 10, 30, 21, 40, 0, 123);
    const id = timeOrderedUuid(t);
    expect(isUuid(id)).toBe(true);
    expect(id[14]).toBe('7');
    expect(['8', '9', 'a', 'b']).toContain(id[19]);
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(t);
  });

  it('sort by time, and ids of one millisecond differ', () => {
    const ids = Array.from({ length: 1000 }, (_, i) => timeOrderedUuid(1_700_000_000_000 + Math.floor(i / 10)));
    expect(new Set(ids).size).toBe(1000);
    for (let i = 10; i < ids.length; i += 10) expect(ids[i - 1]! < ids[i]!).toBe(true);
    const hex = Array.from({ length: 1000 }, (_, i) => timeOrderedHex(1_700_000_000_000 + Math.floor(i / 10)));
    expect(new Set(hex).size).toBe(1000);
    for (const h of hex) expect(h).toMatch(/^[0-9a-f]{32}$/);
    for (let i = 10; i < hex.length; i += 10) expect(hex[i - 1]! < hex[i]!).toBe(true);
  });
});
