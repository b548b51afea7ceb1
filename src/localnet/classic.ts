import { StrKey, xdr } from '@stellar/stellar-sdk';
import { BASE_FEE_STROOPS, BASE_RESERVE_STROOPS, INT64_MAX } from './constants.js';
import { buildEntry } from './entries.js';
import { muxedToAccount, opSource, type ParsedEnvelope } from './envelope.js';
import { appliedResultOps, txRecord } from './results.js';
import type { LedgerState, TxRecord } from './state.js';
import { availableBalance } from './validate.js';
import { baseReader } from './view.js';

type OpCode =
  | { op: 'createAccount'; code: 'success' | 'malformed' | 'underfunded' | 'lowReserve' | 'alreadyExist' }
  | { op: 'payment'; code: 'success' | 'malformed' | 'underfunded' | 'noDestination' | 'lineFull' };

function opResult(r: OpCode): xdr.OperationResult {
  if (r.op === 'createAccount') {
    const results = {
      success: () => xdr.CreateAccountResult.createAccountSuccess(),
      malformed: () => xdr.CreateAccountResult.createAccountMalformed(),
      underfunded: () => xdr.CreateAccountResult.createAccountUnderfunded(),
      lowReserve: () => xdr.CreateAccountResult.createAccountLowReserve(),
      alreadyExist: () => xdr.CreateAccountResult.createAccountAlreadyExist(),
    };
    return xdr.OperationResult.opInner(xdr.OperationResultTr.createAccount(results[r.code]()));
  }
  const results = {
    success: () => xdr.PaymentResult.paymentSuccess(),
    malformed: () => xdr.PaymentResult.paymentMalformed(),
    underfunded: () => xdr.PaymentResult.paymentUnderfunded(),
    noDestination: () => xdr.PaymentResult.paymentNoDestination(),
    lineFull: () => xdr.PaymentResult.paymentLineFull(),
  };
  return xdr.OperationResult.opInner(xdr.OperationResultTr.payment(results[r.code]()));
}

/**
 * Applies a validated classic transaction: the fee (100 stroops per operation) and the sequence
 * number stick whatever happens; the operations run in order on a copy of the balances and are
 * committed only if every one succeeds (core rolls a failed transaction back whole).
 */
export function applyClassicTransaction(p: ParsedEnvelope, ctx: { state: LedgerState; ledgerSeq: number; closeTime: number; applicationOrder: number }): TxRecord {
  const { state, ledgerSeq } = ctx;
  const reader = baseReader(state);
  const accountEntry = (id: string) => buildEntry({ kind: 'account', id }, reader)?.entry;
  const fee = BASE_FEE_STROOPS * BigInt(p.ops.length + (p.feeBump ? 1 : 0));

  const txChangesBefore: xdr.LedgerEntryChange[] = [];
  const touch = (id: string, mutate: () => void) => {
    const before = accountEntry(id);
    mutate();
    const after = accountEntry(id);
    if (before && after) txChangesBefore.push(xdr.LedgerEntryChange.ledgerEntryState(before), xdr.LedgerEntryChange.ledgerEntryUpdated(after));
  };
  touch(p.feeSource, () => {
    const a = state.accounts.get(p.feeSource)!;
    a.balance -= fee;
    a.lastModified = ledgerSeq;
  });
  touch(p.source, () => {
    const a = state.accounts.get(p.source)!;
    a.seqNum = p.seqNum;
    a.seqLedger = ledgerSeq;
    a.seqTime = BigInt(ctx.closeTime);
    a.lastModified = ledgerSeq;
  });

  // The operations work on copies; they replace the state only if all succeed.
  const balances = new Map<string, bigint>();
  const created = new Set<string>();
  const balanceOf = (id: string) => balances.get(id) ?? state.accounts.get(id)?.balance;
  const spendable = (id: string) => {
    const account = state.accounts.get(id);
    const balance = balanceOf(id) ?? 0n;
    return account ? availableBalance(state, id, { ...account, balance }) : balance - 2n * BASE_RESERVE_STROOPS;
  };
  const results: OpCode[] = [];
  for (const op of p.ops) {
    const source = opSource(op, p.source);
    if (op.body().switch().name === 'createAccount') {
      const body = op.body().createAccountOp();
      const destination = StrKey.encodeEd25519PublicKey(body.destination().ed25519());
      const amount = BigInt(body.startingBalance().toString());
      if (amount <= 0n || destination === source) results.push({ op: 'createAccount', code: 'malformed' });
      else if (balanceOf(destination) !== undefined) results.push({ op: 'createAccount', code: 'alreadyExist' });
      else if (amount < 2n * BASE_RESERVE_STROOPS) results.push({ op: 'createAccount', code: 'lowReserve' });
      else if (spendable(source) < amount) results.push({ op: 'createAccount', code: 'underfunded' });
      else {
        balances.set(source, balanceOf(source)! - amount);
        balances.set(destination, amount);
        created.add(destination);
        results.push({ op: 'createAccount', code: 'success' });
      }
    } else {
      const body = op.body().paymentOp();
      const destination = muxedToAccount(body.destination());
      const amount = BigInt(body.amount().toString());
      if (amount <= 0n) results.push({ op: 'payment', code: 'malformed' });
      else if (balanceOf(destination) === undefined) results.push({ op: 'payment', code: 'noDestination' });
      else if (spendable(source) < amount) results.push({ op: 'payment', code: 'underfunded' });
      else if (destination !== source && balanceOf(destination)! + amount > INT64_MAX) results.push({ op: 'payment', code: 'lineFull' });
      else {
        balances.set(source, balanceOf(source)! - amount);
        balances.set(destination, balanceOf(destination)! + amount);
        results.push({ op: 'payment', code: 'success' });
      }
    }
  }
  const success = results.every((r) => r.code === 'success');

  const operations: xdr.OperationMetaV2[] = [];
  if (success) {
    // Each operation's meta lists the accounts it changed; here every change is listed with the last operation.
    const changes: xdr.LedgerEntryChange[] = [];
    for (const [id, balance] of balances) {
      if (created.has(id)) {
        state.accounts.set(id, { balance, seqNum: BigInt(ledgerSeq) << 32n, seqLedger: 0, seqTime: 0n, lastModified: ledgerSeq });
        changes.push(xdr.LedgerEntryChange.ledgerEntryCreated(accountEntry(id)!));
      } else {
        const before = accountEntry(id)!;
        const account = state.accounts.get(id)!;
        account.balance = balance;
        account.lastModified = ledgerSeq;
        changes.push(xdr.LedgerEntryChange.ledgerEntryState(before), xdr.LedgerEntryChange.ledgerEntryUpdated(accountEntry(id)!));
      }
    }
    p.ops.forEach((_, i) =>
      operations.push(new xdr.OperationMetaV2({ ext: new xdr.ExtensionPoint(0), changes: i === p.ops.length - 1 ? changes : [], events: [] })),
    );
  }
  const meta = new xdr.TransactionMeta(
    4,
    new xdr.TransactionMetaV4({
      ext: new xdr.ExtensionPoint(0),
      txChangesBefore,
      operations,
      txChangesAfter: [],
      sorobanMeta: null,
      events: [],
      diagnosticEvents: [],
    }),
  );
  const result = appliedResultOps(p, fee, results.map(opResult), success);
  return txRecord(p, ctx, { success, result, meta });
}
