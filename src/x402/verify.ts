import { createHash } from 'node:crypto';
import { xdr } from '@stellar/stellar-sdk';
import { verifyEd25519 } from '../stellar/ed25519.js';
import type { EncodedSorobanData } from '../stellar/envelope.js';
import type { LedgerView } from '../stellar/ledger-view.js';
import { networkId } from '../stellar/network-id.js';
import { addressOf, i128Of, readContractEvent, scAddressToString } from '../stellar/scval.js';
import { accountAddress } from '../stellar/strkeys.js';
import { EXACT_SCHEME, X402_VERSION, type PaymentPayload, type PaymentRequirements } from '../protocol/x402.js';

/**
 * Verification of an x402 `exact` payment on Stellar, following every MUST of the spec
 * (specs/schemes/exact/scheme_exact_stellar.md). No HTTP here: results are a discriminated union
 * with stable snake_case reasons, one check per numbered step, amounts compared as bigints.
 *
 * It runs in two halves so replays can be recognised before the ledger is asked anything (a
 * settled payment's nonce is spent, so re-simulating it would fail):
 *  - inspectPayment: local checks only (structure, amounts, facilitator safety, signature);
 *  - checkPaymentOnLedger: expiration against the latest ledger, re-simulation, events, fee.
 */
export const VERIFY_REASONS = [
  'unsupported_version',
  'unsupported_scheme',
  'network_mismatch',
  'requirements_mismatch',
  'invalid_transaction',
  'wrong_operation_count',
  'wrong_operation',
  'wrong_asset',
  'wrong_function',
  'invalid_arguments',
  'wrong_recipient',
  'wrong_amount',
  'facilitator_is_source',
  'facilitator_is_payer',
  'facilitator_in_auth',
  'unsupported_payer',
  'no_auth_entries',
  'unexpected_auth_entries',
  'unsupported_credentials',
  'auth_not_payer',
  'auth_has_subinvocations',
  'auth_wrong_invocation',
  'missing_signature',
  'invalid_signature',
  'expired',
  'expiration_too_far',
  'fee_too_high',
  'simulation_failed',
  'transfer_event_missing',
  'unexpected_events',
  'transfer_event_mismatch',
] as const;
export type VerifyReason = (typeof VERIFY_REASONS)[number];

export type Check<T> = { ok: true; value: T } | { ok: false; reason: VerifyReason; payer?: string };

/** Base inclusion fee the facilitator bids on top of the simulated resource fee. */
export const INCLUSION_FEE_STROOPS = 100n;
/** Ledgers of slack on the expiration window (clients and we may see different "latest" ledgers). */
export const EXPIRATION_TOLERANCE_LEDGERS = 2;

/**
 * The most ledgers an accepted auth entry may stay valid past the ledger it was verified against:
 * so a payment's transfer can only land in the ledgers [expiration − this, expiration].
 */
export function authValidityLedgers(maxTimeoutSeconds: number, ledgerSeconds: number): number {
  return Math.ceil(maxTimeoutSeconds / ledgerSeconds) + EXPIRATION_TOLERANCE_LEDGERS;
}

export interface InspectContext {
  networkPassphrase: string;
  /** Every account the facilitator signs with: channels, fee payer, treasury. */
  facilitatorAddresses: ReadonlySet<string>;
  maxFeeStroops: bigint;
}

export interface InspectedPayment {
  payer: string;
  /** The auth entry nonce: with the payer, the unique identity of this payment. */
  nonce: bigint;
  expirationLedger: number;
  amount: bigint;
  /** The payload's transaction exactly as received, and the requirements it was inspected against. */
  transactionXdr: string;
  checkedAgainst: PaymentRequirements;
  /** The invocation and its signed auth, which settlement puts in a transaction of its own. */
  hostFunction: xdr.HostFunction;
  auth: xdr.SorobanAuthorizationEntry[];
  authEntry: xdr.SorobanAuthorizationEntry;
}

/** The G... account behind a (possibly muxed) source account. */
function accountOf(account: xdr.MuxedAccount): string {
  const raw = account.switch() === xdr.CryptoKeyType.keyTypeMuxedEd25519() ? account.med25519().ed25519() : account.ed25519();
  return accountAddress(raw);
}

function fail<T>(reason: VerifyReason, payer?: string): Check<T> {
  return payer === undefined ? { ok: false, reason } : { ok: false, reason, payer };
}

/** Steps 1–2: the protocol envelope and that the client accepted exactly what we ask for. */
function checkProtocol(payload: PaymentPayload, expected: PaymentRequirements): Check<void> {
  // 1. version and scheme
  if (payload.x402Version !== X402_VERSION) return fail('unsupported_version');
  if (payload.accepted.scheme !== EXACT_SCHEME || expected.scheme !== EXACT_SCHEME) return fail('unsupported_scheme');
  // 2. network, then every other accepted field
  if (payload.accepted.network !== expected.network) return fail('network_mismatch');
  const a = payload.accepted;
  if (
    a.amount !== expected.amount ||
    a.asset !== expected.asset ||
    a.payTo !== expected.payTo ||
    a.maxTimeoutSeconds !== expected.maxTimeoutSeconds ||
    a.extra?.['areFeesSponsored'] !== true
  ) {
    return fail('requirements_mismatch');
  }
  return { ok: true, value: undefined };
}

/** The sha256 an address credential signs: HashIdPreimage envelopeTypeSorobanAuthorization. */
export function authEntrySignaturePayload(entry: xdr.SorobanAuthorizationEntry, networkPassphrase: string): Buffer {
  const credentials = entry.credentials().address();
  const preimage = xdr.HashIdPreimage.envelopeTypeSorobanAuthorization(
    new xdr.HashIdPreimageSorobanAuthorization({
      networkId: networkId(networkPassphrase),
      nonce: credentials.nonce(),
      signatureExpirationLedger: credentials.signatureExpirationLedger(),
      invocation: entry.rootInvocation(),
    }),
  );
  return createHash('sha256').update(preimage.toXDR()).digest();
}

/** An account's address-credential signature: Vec[Map{public_key: Bytes(32), signature: Bytes(64)}]. */
function verifyAccountSignature(entry: xdr.SorobanAuthorizationEntry, payer: string, payerKey: Buffer, networkPassphrase: string): Check<void> {
  const signature = entry.credentials().address().signature();
  if (signature.switch() === xdr.ScValType.scvVoid()) return fail('missing_signature', payer);
  const item = accountSignatureOf(signature);
  if (!item || item.signature.length !== 64 || !item.publicKey.equals(payerKey)) return fail('invalid_signature', payer);
  const payload = authEntrySignaturePayload(entry, networkPassphrase);
  if (!verifyEd25519(item.publicKey, payload, item.signature)) return fail('invalid_signature', payer);
  return { ok: true, value: undefined };
}

/** The one {public_key, signature} of Vec[Map{...}], read from the ScVal directly (no scValToNative). */
function accountSignatureOf(value: xdr.ScVal): { publicKey: Buffer; signature: Buffer } | undefined {
  if (value.switch() !== xdr.ScValType.scvVec()) return undefined;
  const items = value.vec();
  if (!items || items.length !== 1 || items[0]!.switch() !== xdr.ScValType.scvMap()) return undefined;
  let publicKey: Buffer | undefined;
  let signature: Buffer | undefined;
  for (const entry of items[0]!.map() ?? []) {
    const key = entry.key();
    if (key.switch() !== xdr.ScValType.scvSymbol() || entry.val().switch() !== xdr.ScValType.scvBytes()) continue;
    const name = key.sym().toString();
    if (name === 'public_key') publicKey = entry.val().bytes();
    else if (name === 'signature') signature = entry.val().bytes();
  }
  return publicKey && signature ? { publicKey, signature } : undefined;
}

/** Steps 1–14: everything that can be checked without the ledger. Never throws on hostile input. */
export function inspectPayment(payload: PaymentPayload, expected: PaymentRequirements, ctx: InspectContext): Check<InspectedPayment> {
  try {
    return inspectChecked(payload, expected, ctx);
  } catch {
    // Well-formed XDR can still hold values the decoders refuse (e.g. out-of-range numbers).
    return fail('invalid_transaction');
  }
}

function inspectChecked(payload: PaymentPayload, expected: PaymentRequirements, ctx: InspectContext): Check<InspectedPayment> {
  const protocol = checkProtocol(payload, expected);
  if (!protocol.ok) return protocol;

  // 3. a plain (not fee-bump) v1 transaction envelope. Parsed as raw XDR: no sdk Transaction object
  //    (it re-decodes every operation and costs more than all our checks together).
  let tx: xdr.Transaction;
  try {
    const envelope = xdr.TransactionEnvelope.fromXDR(payload.payload.transaction, 'base64');
    if (envelope.switch() !== xdr.EnvelopeType.envelopeTypeTx()) return fail('invalid_transaction');
    tx = envelope.v1().tx();
  } catch {
    return fail('invalid_transaction');
  }

  // 4. exactly one invokeHostFunction operation invoking a contract
  const operations = tx.operations();
  if (operations.length !== 1) return fail('wrong_operation_count');
  const operation = operations[0]!;
  if (operation.body().switch() !== xdr.OperationType.invokeHostFunction()) return fail('wrong_operation');
  const hostOp = operation.body().invokeHostFunctionOp();
  const func = hostOp.hostFunction();
  if (func.switch() !== xdr.HostFunctionType.hostFunctionTypeInvokeContract()) return fail('wrong_operation');
  const invoke = func.invokeContract();

  // 5. the configured asset contract
  const contract = scAddressToString(invoke.contractAddress());
  if (contract !== expected.asset) return fail('wrong_asset');

  // 6. transfer(from, to, amount)
  const args = invoke.args();
  if (invoke.functionName().toString() !== 'transfer' || args.length !== 3) return fail('wrong_function');

  // 7. argument types
  const payer = addressOf(args[0]!);
  const to = addressOf(args[1]!);
  const amount = i128Of(args[2]!);
  if (payer === undefined || to === undefined || amount === undefined) return fail('invalid_arguments');

  // 8. to == payTo
  if (to !== expected.payTo) return fail('wrong_recipient', payer);

  // 9. amount == the price, exactly
  if (amount !== BigInt(expected.amount)) return fail('wrong_amount', payer);

  // 10. facilitator safety: none of our accounts as tx source, op source or payer
  const opSource = operation.sourceAccount();
  if (ctx.facilitatorAddresses.has(accountOf(tx.sourceAccount())) || (opSource && ctx.facilitatorAddresses.has(accountOf(opSource)))) {
    return fail('facilitator_is_source', payer);
  }
  if (ctx.facilitatorAddresses.has(payer)) return fail('facilitator_is_payer', payer);

  // 11. payers are ed25519 accounts (G...), whose signatures we can check ourselves
  const from = args[0]!.address();
  if (from.switch() !== xdr.ScAddressType.scAddressTypeAccount()) return fail('unsupported_payer', payer);
  const payerKey = from.accountId().ed25519();

  // 12. exactly one auth entry: address credentials of the payer, for exactly this call, nothing nested
  const auth = hostOp.auth();
  if (auth.length === 0) return fail('no_auth_entries', payer);
  for (const entry of auth) {
    if (entry.credentials().switch() !== xdr.SorobanCredentialsType.sorobanCredentialsAddress()) {
      return fail('unsupported_credentials', payer);
    }
    const signer = scAddressToString(entry.credentials().address().address());
    if (signer !== undefined && ctx.facilitatorAddresses.has(signer)) return fail('facilitator_in_auth', payer);
    if (signer !== payer) return fail('auth_not_payer', payer);
    if (entry.rootInvocation().subInvocations().length > 0) return fail('auth_has_subinvocations', payer);
  }
  if (auth.length > 1) return fail('unexpected_auth_entries', payer);
  const authEntry = auth[0]!;
  const rootFunction = authEntry.rootInvocation().function();
  if (
    rootFunction.switch() !== xdr.SorobanAuthorizedFunctionType.sorobanAuthorizedFunctionTypeContractFn() ||
    !rootFunction.contractFn().toXDR().equals(invoke.toXDR())
  ) {
    return fail('auth_wrong_invocation', payer);
  }

  // 13. the payer's signature over the auth entry, verified here with ed25519
  const signed = verifyAccountSignature(authEntry, payer, payerKey, ctx.networkPassphrase);
  if (!signed.ok) return signed;

  // 14. the fee the client proposes is within our cap (we rebuild the tx, but refuse absurd bids)
  if (BigInt(tx.fee()) > ctx.maxFeeStroops) return fail('fee_too_high', payer);

  const credentials = authEntry.credentials().address();
  return {
    ok: true,
    value: {
      payer,
      nonce: BigInt(credentials.nonce().toString()),
      expirationLedger: credentials.signatureExpirationLedger(),
      amount,
      transactionXdr: payload.payload.transaction,
      checkedAgainst: expected,
      hostFunction: func,
      auth,
      authEntry,
    },
  };
}

/** The part of a Soroban RPC verification needs; src/stellar/rpc.ts implements it. */
export interface LedgerContext {
  ledger: LedgerView;
  ledgerSeconds: number;
  maxFeeStroops: bigint;
}

export interface LedgerChecked {
  latestLedger: number;
  /** Resources from OUR simulation, used to rebuild the tx (never the client's sorobanData). */
  transactionData: EncodedSorobanData;
  /** What settling will cost: simulated resource fee plus the inclusion fee. */
  feeStroops: bigint;
}

/** Step 17: exactly one transfer event from→to of the amount on the asset, and no other contract event. */
export function checkEvents(events: xdr.DiagnosticEvent[], inspected: InspectedPayment, expected: PaymentRequirements): Check<void> {
  const { payer } = inspected;
  let transfers = 0;
  for (const diagnostic of events) {
    const event = diagnostic.event();
    if (event.type() !== xdr.ContractEventType.contract()) continue;
    const { transfer } = readContractEvent(event);
    if (!transfer || transfer.contract !== expected.asset) {
      // Any other contract event (another token's transfer, a mint, an approval…) means the
      // invocation does more than the one balance change we were asked to sponsor.
      return fail('unexpected_events', payer);
    }
    transfers += 1;
    if (transfers > 1) return fail('unexpected_events', payer);
    if (transfer.from !== payer || transfer.to !== expected.payTo || transfer.amount !== BigInt(expected.amount)) return fail('transfer_event_mismatch', payer);
  }
  if (transfers === 0) return fail('transfer_event_missing', payer);
  return { ok: true, value: undefined };
}

/** Steps 15–18: what only the current ledger can tell. */
export async function checkPaymentOnLedger(
  inspected: InspectedPayment,
  expected: PaymentRequirements,
  ctx: LedgerContext,
): Promise<Check<LedgerChecked>> {
  const { payer } = inspected;

  // The simulation also tells which ledger it ran against: one round trip serves steps 15 and 16.
  const simulation = await ctx.ledger.simulate(inspected.transactionXdr);
  const latestLedger = simulation.ok ? simulation.latestLedger : await ctx.ledger.latestLedger();

  // 15. the auth entry is still valid for the next ledger, and not valid for longer than we allow
  if (inspected.expirationLedger <= latestLedger) return fail('expired', payer);
  if (inspected.expirationLedger > latestLedger + authValidityLedgers(expected.maxTimeoutSeconds, ctx.ledgerSeconds)) {
    return fail('expiration_too_far', payer);
  }

  // 16. re-simulation against the current state succeeded
  if (!simulation.ok) return fail('simulation_failed', payer);

  // 17. exactly the expected balance change
  const events = checkEvents(simulation.events, inspected, expected);
  if (!events.ok) return events;

  // 18. what we would pay to settle it stays under the cap
  const feeStroops = simulation.minResourceFee + INCLUSION_FEE_STROOPS;
  if (feeStroops > ctx.maxFeeStroops) return fail('fee_too_high', payer);

  return { ok: true, value: { latestLedger, transactionData: simulation.transactionData, feeStroops } };
}
