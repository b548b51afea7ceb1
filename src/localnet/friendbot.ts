import { StrKey, hash, xdr } from '@stellar/stellar-sdk';
import { USDC_DECIMALS } from './constants.js';
import { buildEntry } from './entries.js';
import type { Ledger } from './ledger.js';
import { baseReader } from './view.js';

export type FriendbotReply = { status: 200 | 400; body: Record<string, unknown> };

const USDC_AMOUNT = new RegExp(`^\\d{1,12}(\\.\\d{1,${USDC_DECIMALS}})?$`);

/** "12.5" USDC → 125000000 atomic units, without going through floating point. */
export function parseUsdcAmount(text: string): bigint | undefined {
  if (!USDC_AMOUNT.test(text)) return undefined;
  const [whole = '0', frac = ''] = text.split('.');
  return BigInt(whole) * 10n ** BigInt(USDC_DECIMALS) + BigInt(frac.padEnd(USDC_DECIMALS, '0'));
}

/**
 * Friendbot as Stellar's quickstart lays it out. A new account gets 10,000 XLM and a result_meta_xdr with the
 * created account (what stellar-sdk's requestAirdrop reads); an existing one is left alone and the reply says
 * so, like the real friendbot's createAccountAlreadyExist. `asset=USDC&amount=N` mints N USDC.
 */
export function friendbot(ledger: Ledger, query: { addr?: string | undefined; asset?: string | undefined; amount?: string | undefined }): FriendbotReply {
  const addr = query.addr ?? '';
  const bad = (detail: string): FriendbotReply => ({ status: 400, body: { type: 'bad_request', title: 'Bad Request', status: 400, detail } });
  if (query.asset !== undefined) {
    if (query.asset.toUpperCase() !== 'USDC') return bad(`unsupported asset ${query.asset}; only USDC can be minted`);
    if (!StrKey.isValidEd25519PublicKey(addr) && !StrKey.isValidContract(addr)) return bad('addr must be a G... or C... address');
    const atomic = parseUsdcAmount(query.amount ?? '');
    if (atomic === undefined) return bad('amount must be a decimal USDC amount with at most 7 decimals, e.g. amount=100');
    try {
      ledger.mintUsdc(addr, atomic);
    } catch (err) {
      return bad(err instanceof Error ? err.message : 'mint failed');
    }
    return { status: 200, body: { successful: true, asset: 'USDC', address: addr, minted: atomic.toString(), balance: ledger.state.usdc.get(addr)?.balance.toString() ?? '0' } };
  }
  if (!StrKey.isValidEd25519PublicKey(addr)) return bad('addr must be a G... account id');
  if (ledger.state.accounts.has(addr)) {
    return {
      status: 400,
      body: {
        type: 'https://stellar.org/horizon-errors/transaction_failed',
        title: 'Transaction Failed',
        status: 400,
        detail: 'createAccountAlreadyExist: the account is already funded; nothing was changed',
        extras: { result_codes: { transaction: 'tx_failed', operations: ['op_already_exists'] } },
      },
    };
  }
  ledger.fundXlm(addr);
  const created = buildEntry({ kind: 'account', id: addr }, baseReader(ledger.state));
  const meta = new xdr.TransactionMeta(
    3,
    new xdr.TransactionMetaV3({
      ext: new xdr.ExtensionPoint(0),
      txChangesBefore: [],
      operations: created ? [new xdr.OperationMeta({ changes: [xdr.LedgerEntryChange.ledgerEntryCreated(created.entry)] })] : [],
      txChangesAfter: [],
      sorobanMeta: null,
    }),
  );
  return {
    status: 200,
    body: { successful: true, hash: hash(Buffer.from(`friendbot:${addr}`)).toString('hex'), ledger: ledger.latest.sequence, result_meta_xdr: meta.toXDR('base64') },
  };
}
