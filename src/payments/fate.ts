import { Address } from '@stellar/stellar-sdk';
import type { PaymentRow } from '../db/schema.js';
import type { EventsPage, EventsQuery, TransactionDetail } from '../stellar/rpc.js';
import { transferAmountOf } from '../stellar/scval.js';
import { provesTransfer, signedAuthEntryOf, transferTopics, type ExpectedTransfer } from '../stellar/transfer-evidence.js';

/**
 * Where a payment's money stands, established from the ledger alone (docs/ARCHITECTURE.md, "What
 * proves a payment"). Used wherever card402 was not the one that watched the transaction land: a
 * payment an external facilitator sent (or whose answer was lost), and a payment we answered
 * "failed" whose signed authorisation someone else may still submit.
 *
 * - `transferred`: a successful transaction carrying the payer's signed auth entry, byte for byte,
 *   emitted the transfer from the payer to payTo for the exact amount.
 * - `not_transferred`: no such transaction exists and none can exist any more — the entry has
 *   expired, or its nonce was spent by another invocation — and the RPC's history covers every
 *   ledger where it could have landed.
 * - `open`: nothing yet, and the entry may still be used. Look again later.
 * - `unknowable`: the ledgers where it could have landed are older than the RPC's history. Only a
 *   person can settle it (status `needs_review`); nothing moves money on it.
 */
export type Fate =
  | { kind: 'transferred'; txHash: string; ledger: number }
  | { kind: 'not_transferred'; reason: 'auth_expired' | 'nonce_spent_elsewhere' }
  | { kind: 'open' }
  | { kind: 'unknowable'; reason: string };

/** What establishing a fate asks of a Soroban RPC (SorobanRpc implements it). */
export interface LedgerEvidence {
  history(): Promise<{ oldestLedger: number; latestLedger: number }>;
  nonceState(address: string, nonce: bigint): Promise<{ spent: boolean; latestLedger: number }>;
  events(query: EventsQuery): Promise<EventsPage>;
  transactionDetail(hash: string): Promise<TransactionDetail>;
}

const EVENTS_PAGE = 100;
const FIRST_LEDGER_WITH_TRANSACTIONS = 2;

/** The transfer a payment row stands for; undefined if its stored transaction holds no single signed entry. */
export function expectedTransferOf(payment: PaymentRow): ExpectedTransfer | undefined {
  const authEntry = signedAuthEntryOf(payment.payment_xdr);
  if (!authEntry) return undefined;
  return { asset: payment.asset, from: payment.payer, to: payment.pay_to, amount: BigInt(payment.amount_atomic), authEntry };
}

/**
 * Establishes a payment's fate. `validityLedgers` bounds how long before its expiration ledger the
 * payer's entry could have been used (see authValidityLedgers); `hint` is a transaction hash someone
 * claimed for it, checked first and believed only if it proves the transfer.
 *
 * Order matters: the nonce is read before the events are searched, so a transfer that lands
 * between the two reads is found by the search rather than mistaken for a burned nonce.
 */
export async function establishFate(
  ledger: LedgerEvidence,
  payment: PaymentRow,
  opts: { validityLedgers: number; hint?: string | null },
): Promise<Fate> {
  const expected = expectedTransferOf(payment);
  if (!expected) return { kind: 'unknowable', reason: 'payment_without_signed_entry' };
  if (opts.hint) {
    const detail = await ledger.transactionDetail(opts.hint);
    if (detail.status !== 'NOT_FOUND' && provesTransfer(detail, expected)) return { kind: 'transferred', txHash: opts.hint, ledger: detail.ledger };
  }

  const expiration = payment.auth_expiration_ledger;
  const nonce = await ledger.nonceState(payment.payer, BigInt(payment.auth_nonce));
  // Unspent and unexpired: no transaction has used the entry yet (the network keeps a spent
  // nonce's entry until the signature expires), so there is nothing to search for.
  if (!nonce.spent && nonce.latestLedger < expiration) return { kind: 'open' };
  const { oldestLedger, latestLedger } = await ledger.history();
  // Ledger 1 is the network's genesis and holds no transactions: a window reaching before it starts at 2.
  const from = Math.max(FIRST_LEDGER_WITH_TRANSACTIONS, expiration - opts.validityLedgers);
  const searchFrom = Math.max(from, oldestLedger);
  const searchEnd = Math.min(expiration, latestLedger) + 1; // exclusive
  let searchedThrough = latestLedger;
  if (searchFrom < searchEnd) {
    const found = await searchTransfer(ledger, expected, searchFrom, searchEnd);
    if (found.kind === 'transferred') return found;
    searchedThrough = found.latestLedger;
  }

  const complete = from >= oldestLedger;
  // A load-balanced RPC may answer from nodes at different ledgers: conclude nothing from a search
  // that saw less of the ledger than the nonce read did.
  if (searchedThrough < nonce.latestLedger) return { kind: 'open' };
  if (searchedThrough >= expiration) {
    return complete ? { kind: 'not_transferred', reason: 'auth_expired' } : { kind: 'unknowable', reason: 'history_window_passed' };
  }
  if (nonce.spent) {
    return complete ? { kind: 'not_transferred', reason: 'nonce_spent_elsewhere' } : { kind: 'unknowable', reason: 'history_window_passed' };
  }
  return { kind: 'open' };
}

async function searchTransfer(
  ledger: LedgerEvidence,
  expected: ExpectedTransfer,
  startLedger: number,
  endLedger: number,
): Promise<Fate & { kind: 'transferred' } | { kind: 'none'; latestLedger: number }> {
  const filters: EventsQuery['filters'] = [
    { type: 'contract', contractIds: [expected.asset], topics: [transferTopics(new Address(expected.from).toScVal(), new Address(expected.to).toScVal())] },
  ];
  const checked = new Set<string>();
  let page = await ledger.events({ startLedger, endLedger, filters, limit: EVENTS_PAGE });
  for (;;) {
    for (const event of page.events) {
      // A page asked for by cursor runs past the window (a cursor carries no end): stop there.
      if (event.ledger >= endLedger) return { kind: 'none', latestLedger: page.latestLedger };
      if (event.contractId !== expected.asset || !event.inSuccessfulContractCall || checked.has(event.txHash)) continue;
      if (transferAmountOf(event.value) !== expected.amount) continue;
      checked.add(event.txHash);
      const detail = await ledger.transactionDetail(event.txHash);
      if (detail.status !== 'NOT_FOUND' && provesTransfer(detail, expected)) return { kind: 'transferred', txHash: event.txHash, ledger: detail.ledger };
    }
    const last = page.events[page.events.length - 1];
    if (page.events.length < EVENTS_PAGE || !last || last.ledger >= endLedger) return { kind: 'none', latestLedger: page.latestLedger };
    page = await ledger.events({ cursor: page.cursor, filters, limit: EVENTS_PAGE });
  }
}
