import { StrKey, xdr } from '@stellar/stellar-sdk';
import type { LedgerHeader, LedgerState } from './state.js';

/**
 * soroban-rpc's getEvents over the transactions the local ledger still remembers (the same 7-day
 * history window as getTransaction): contract events of successful transactions, filtered by type,
 * contract id and topic segments, paginated by event id, as the real server does.
 *
 * Ids and cursors follow stellar-rpc: `%019d-%010d` of the operation's TOID (ledger << 32 |
 * application order << 12 | operation index) and the event's index within its transaction.
 */

/** Most ledgers one request scans (stellar-rpc's LedgerScanLimit). */
export const EVENTS_LEDGER_SCAN_LIMIT = 10_000;
export const EVENTS_DEFAULT_LIMIT = 100;
export const EVENTS_MAX_LIMIT = 10_000;
export const EVENTS_MAX_FILTERS = 5;
export const EVENTS_MAX_CONTRACT_IDS = 5;
export const EVENTS_MAX_TOPIC_FILTERS = 5;
export const EVENTS_MAX_TOPIC_SEGMENTS = 4;

export interface EventFilter {
  type?: 'contract' | 'system' | undefined;
  contractIds?: string[] | undefined;
  topics?: string[][] | undefined;
}

export interface EventsQuery {
  startLedger?: number | undefined;
  endLedger?: number | undefined;
  filters?: EventFilter[] | undefined;
  pagination?: { cursor?: string | undefined; limit?: number | undefined } | undefined;
}

export interface RpcEvent {
  type: 'contract';
  ledger: number;
  ledgerClosedAt: string;
  contractId: string;
  id: string;
  pagingToken: string;
  operationIndex: number;
  transactionIndex: number;
  txHash: string;
  inSuccessfulContractCall: boolean;
  topic: string[];
  value: string;
}

export interface EventsResult {
  events: RpcEvent[];
  cursor: string;
  latestLedger: number;
  oldestLedger: number;
  latestLedgerCloseTime: string;
  oldestLedgerCloseTime: string;
}

/** A request the real server would refuse, with its JSON-RPC code. */
export class EventsQueryError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const INVALID_PARAMS = -32602;
const INVALID_REQUEST = -32600;

interface Position {
  ledger: number;
  tx: number;
  op: number;
  event: number;
}

function toid(ledger: number, tx: number, op: number): bigint {
  return (BigInt(ledger) << 32n) | (BigInt(tx) << 12n) | BigInt(op);
}

function formatId(p: Position): string {
  return `${toid(p.ledger, p.tx, p.op).toString().padStart(19, '0')}-${p.event.toString().padStart(10, '0')}`;
}

function parseCursor(cursor: string): Position {
  const match = /^(\d{1,19})(?:-(\d{1,10}))?$/.exec(cursor);
  if (!match) throw new EventsQueryError(INVALID_PARAMS, `invalid cursor: ${cursor.slice(0, 40)}`);
  const id = BigInt(match[1]!);
  return {
    ledger: Number(id >> 32n),
    tx: Number((id >> 12n) & 0xfffffn),
    op: Number(id & 0xfffn),
    event: match[2] === undefined ? 0 : Number(match[2]),
  };
}

function compare(a: Position, b: Position): number {
  return a.ledger - b.ledger || a.tx - b.tx || a.op - b.op || a.event - b.event;
}

function checkFilters(filters: EventFilter[]): void {
  if (filters.length > EVENTS_MAX_FILTERS) throw new EventsQueryError(INVALID_PARAMS, `maximum ${EVENTS_MAX_FILTERS} filters per request`);
  for (const [i, filter] of filters.entries()) {
    const ids = filter.contractIds ?? [];
    if (ids.length > EVENTS_MAX_CONTRACT_IDS) throw new EventsQueryError(INVALID_PARAMS, `filter ${i + 1} invalid: maximum ${EVENTS_MAX_CONTRACT_IDS} contract IDs per filter`);
    for (const id of ids) if (!StrKey.isValidContract(id)) throw new EventsQueryError(INVALID_PARAMS, `filter ${i + 1} invalid: contract ID ${id.slice(0, 60)} invalid`);
    const topics = filter.topics ?? [];
    if (topics.length > EVENTS_MAX_TOPIC_FILTERS) throw new EventsQueryError(INVALID_PARAMS, `filter ${i + 1} invalid: maximum ${EVENTS_MAX_TOPIC_FILTERS} topics per filter`);
    for (const topic of topics) {
      const counted = topic[topic.length - 1] === '**' ? topic.length - 1 : topic.length;
      if (topic.length === 0) throw new EventsQueryError(INVALID_PARAMS, `filter ${i + 1} invalid: topic must have at least one segment`);
      if (counted > EVENTS_MAX_TOPIC_SEGMENTS) throw new EventsQueryError(INVALID_PARAMS, `filter ${i + 1} invalid: topic cannot have more than ${EVENTS_MAX_TOPIC_SEGMENTS} segments`);
      for (const [j, segment] of topic.entries()) {
        if (segment === '*') continue;
        if (segment === '**') {
          if (j !== topic.length - 1) throw new EventsQueryError(INVALID_PARAMS, `filter ${i + 1} invalid: '**' is only allowed as the last segment`);
          continue;
        }
        try {
          xdr.ScVal.fromXDR(segment, 'base64');
        } catch {
          throw new EventsQueryError(INVALID_PARAMS, `filter ${i + 1} invalid: segment ${j + 1} is not a base64 ScVal`);
        }
      }
    }
  }
}

function topicMatches(pattern: string[], topic: string[]): boolean {
  const open = pattern[pattern.length - 1] === '**';
  const fixed = open ? pattern.slice(0, -1) : pattern;
  if (open ? topic.length < fixed.length : topic.length !== fixed.length) return false;
  return fixed.every((segment, i) => segment === '*' || segment === topic[i]);
}

function eventMatches(filters: EventFilter[], contractId: string, topic: string[]): boolean {
  if (filters.length === 0) return true;
  return filters.some((filter) => {
    if (filter.type !== undefined && filter.type !== 'contract') return false;
    if (filter.contractIds && filter.contractIds.length > 0 && !filter.contractIds.includes(contractId)) return false;
    if (!filter.topics || filter.topics.length === 0) return true;
    return filter.topics.some((pattern) => topicMatches(pattern, topic));
  });
}

function header(ledger: LedgerHeader): { sequence: number; closeTime: string } {
  return { sequence: ledger.sequence, closeTime: String(ledger.closeTime) };
}

export function getEvents(state: LedgerState, query: EventsQuery): EventsResult {
  const latest = state.latest.sequence;
  const oldest = state.oldest.sequence;
  const cursor = query.pagination?.cursor;
  const limit = query.pagination?.limit ?? EVENTS_DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > EVENTS_MAX_LIMIT) throw new EventsQueryError(INVALID_PARAMS, `limit must not exceed ${EVENTS_MAX_LIMIT}`);
  const filters = query.filters ?? [];
  checkFilters(filters);

  let after: Position | undefined; // events strictly after this position
  let start: number;
  if (cursor !== undefined) {
    if (query.startLedger !== undefined || query.endLedger !== undefined) {
      throw new EventsQueryError(INVALID_PARAMS, 'ledger ranges and cursor cannot both be set');
    }
    after = parseCursor(cursor);
    start = after.ledger;
  } else {
    if (query.startLedger === undefined) throw new EventsQueryError(INVALID_PARAMS, 'startLedger must be positive');
    start = query.startLedger;
    if (start < oldest || start > latest) {
      throw new EventsQueryError(INVALID_REQUEST, `startLedger must be between the oldest ledger: ${oldest} and the latest ledger: ${latest}`);
    }
  }
  const scanEnd = Math.min(start + EVENTS_LEDGER_SCAN_LIMIT, latest + 1);
  let end = scanEnd; // exclusive
  if (query.endLedger !== undefined) {
    if (query.endLedger <= start) throw new EventsQueryError(INVALID_PARAMS, 'endLedger must be after startLedger');
    end = Math.min(query.endLedger, scanEnd);
  }
  if (after && after.ledger < oldest) throw new EventsQueryError(INVALID_REQUEST, `cursor is older than the oldest ledger: ${oldest}`);

  const events: RpcEvent[] = [];
  let last: Position | undefined;
  for (const tx of state.txs.values()) {
    if (tx.ledger < start) continue;
    if (tx.ledger >= end) break; // kept in the order they were applied
    if (tx.status !== 'SUCCESS') continue;
    const closedAt = new Date(tx.createdAt * 1000).toISOString().replace('.000Z', 'Z');
    for (const [op, opEvents] of tx.contractEventsXdr.entries()) {
      for (const [index, eventXdr] of opEvents.entries()) {
        const position: Position = { ledger: tx.ledger, tx: tx.applicationOrder, op, event: index };
        if (after && compare(position, after) <= 0) continue;
        const event = xdr.ContractEvent.fromXDR(eventXdr, 'base64');
        const contractIdBytes = event.contractId();
        if (!contractIdBytes) continue;
        const contractId = StrKey.encodeContract(contractIdBytes as unknown as Buffer);
        const body = event.body().v0();
        const topic = body.topics().map((t) => t.toXDR('base64'));
        if (!eventMatches(filters, contractId, topic)) continue;
        const id = formatId(position);
        events.push({
          type: 'contract',
          ledger: tx.ledger,
          ledgerClosedAt: closedAt,
          contractId,
          id,
          pagingToken: id,
          operationIndex: op,
          transactionIndex: tx.applicationOrder,
          txHash: tx.hash,
          inSuccessfulContractCall: true,
          topic,
          value: body.data().toXDR('base64'),
        });
        last = position;
        if (events.length >= limit) {
          return result(events, formatId(last), state);
        }
      }
    }
  }
  // Fewer than `limit`: the cursor marks the end of the scanned range, so the next page starts there.
  return result(events, formatId({ ledger: end, tx: 0, op: 0, event: 0 }), state);
}

function result(events: RpcEvent[], cursor: string, state: LedgerState): EventsResult {
  const latest = header(state.latest);
  const oldest = header(state.oldest);
  return {
    events,
    cursor,
    latestLedger: latest.sequence,
    oldestLedger: oldest.sequence,
    latestLedgerCloseTime: latest.closeTime,
    oldestLedgerCloseTime: oldest.closeTime,
  };
}
