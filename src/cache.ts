import { LRUCache } from 'lru-cache';

/**
 * The one in-memory cache policy of card402: at most `max` entries, the least recently used goes
 * first (lru-cache). Every cache is a cache: an entry that drops out costs recomputing it (a parse,
 * an encoding, an idempotent write), never a wrong answer. Each caller names its own bound.
 */
export function boundedCache<K extends NonNullable<unknown>, V extends NonNullable<unknown>>(max: number): LRUCache<K, V> {
  return new LRUCache<K, V>({ max });
}

export type BoundedCache<K extends NonNullable<unknown>, V extends NonNullable<unknown>> = LRUCache<K, V>;
