import { Address, Keypair, StrKey, xdr } from '@stellar/stellar-sdk';
import { INT64_MAX, MIN_PERSISTENT_TTL_LEDGERS, USDC_DECIMALS, GENESIS_LEDGER } from './constants.js';
import type { LocalnetNetwork } from './network.js';
import type { AccountState, Allowance, UsdcHolding } from './state.js';

/** The ledger entries the local ledger models. Everything else does not exist here. */
export type EntryRef =
  | { kind: 'account'; id: string }
  | { kind: 'usdc'; holder: string } // trustline for G, SAC Balance contract data for C
  | { kind: 'instance' } // the USDC SAC instance
  | { kind: 'nonce'; address: string; nonce: bigint }
  | { kind: 'allowance'; from: string; spender: string }; // SAC temporary data Allowance{from, spender}

/** What entry builders need to read; both the committed state and a pending view implement it. */
export interface EntryReader {
  readonly network: LocalnetNetwork;
  account(id: string): AccountState | undefined;
  usdc(holder: string): UsdcHolding | undefined;
  nonce(address: string, nonce: bigint): number | undefined; // expiration ledger
  /** The allowance entry as stored, including one whose `liveUntil` has passed; undefined once its TTL has. */
  allowance(from: string, spender: string): Allowance | undefined;
}

const TRUSTLINE_AUTHORIZED_FLAG = 1;

export const i64 = (v: bigint): xdr.Int64 => xdr.Int64.fromString(v.toString());
export const u64 = (v: bigint): xdr.Uint64 => xdr.Uint64.fromString(v.toString());

export function i128(v: bigint): xdr.ScVal {
  const mask = (1n << 64n) - 1n;
  return xdr.ScVal.scvI128(
    new xdr.Int128Parts({ hi: xdr.Int64.fromString(BigInt.asIntN(64, v >> 64n).toString()), lo: u64(v & mask) }),
  );
}

export function entryKey(ref: EntryRef, net: LocalnetNetwork): xdr.LedgerKey {
  switch (ref.kind) {
    case 'account':
      return xdr.LedgerKey.account(new xdr.LedgerKeyAccount({ accountId: Keypair.fromPublicKey(ref.id).xdrAccountId() }));
    case 'usdc':
      if (StrKey.isValidEd25519PublicKey(ref.holder)) {
        return xdr.LedgerKey.trustline(
          new xdr.LedgerKeyTrustLine({ accountId: Keypair.fromPublicKey(ref.holder).xdrAccountId(), asset: net.usdcAsset.toTrustLineXDRObject() }),
        );
      }
      return contractDataKey(new Address(net.usdcContract), balanceKeyVal(ref.holder), xdr.ContractDataDurability.persistent());
    case 'instance':
      return contractDataKey(new Address(net.usdcContract), xdr.ScVal.scvLedgerKeyContractInstance(), xdr.ContractDataDurability.persistent());
    case 'nonce':
      return contractDataKey(new Address(ref.address), nonceKeyVal(ref.nonce), xdr.ContractDataDurability.temporary());
    case 'allowance':
      return contractDataKey(new Address(net.usdcContract), allowanceKeyVal(ref.from, ref.spender), xdr.ContractDataDurability.temporary());
  }
}

/**
 * Canonical string for a ledger key, used to compare against a transaction's footprint. Memoized:
 * building the key decodes strkeys (base32 and a checksum) and encodes XDR, and every simulation
 * and apply asks for the same few keys again (profiled under bench/scale: a tenth of the ledger's
 * CPU per settled payment went to strkey decoding).
 */
export function entryKeyString(ref: EntryRef, net: LocalnetNetwork): string {
  const id = `${net.passphrase}|${refId(ref)}`;
  let key = ENTRY_KEY_STRINGS.get(id);
  if (key === undefined) {
    key = entryKey(ref, net).toXDR('base64');
    if (ENTRY_KEY_STRINGS.size >= MAX_MEMOIZED_KEYS) ENTRY_KEY_STRINGS.clear();
    ENTRY_KEY_STRINGS.set(id, key);
  }
  return key;
}

const MAX_MEMOIZED_KEYS = 100_000;
const ENTRY_KEY_STRINGS = new Map<string, string>();

function refId(ref: EntryRef): string {
  switch (ref.kind) {
    case 'account':
      return `a|${ref.id}`;
    case 'usdc':
      return `u|${ref.holder}`;
    case 'instance':
      return 'i';
    case 'nonce':
      return `n|${ref.address}|${ref.nonce}`;
    case 'allowance':
      return `l|${ref.from}|${ref.spender}`;
  }
}

export function refFromLedgerKey(key: xdr.LedgerKey, net: LocalnetNetwork): EntryRef | undefined {
  switch (key.switch().name) {
    case 'account':
      return { kind: 'account', id: StrKey.encodeEd25519PublicKey(key.account().accountId().ed25519()) };
    case 'trustline': {
      const tl = key.trustLine();
      if (tl.asset().switch().name !== 'assetTypeCreditAlphanum4') return undefined;
      const a4 = tl.asset().alphaNum4();
      const code = a4.assetCode().toString('latin1').replace(/\0+$/, '');
      const issuer = StrKey.encodeEd25519PublicKey(a4.issuer().ed25519());
      if (code !== net.usdcAsset.getCode() || issuer !== net.usdcIssuer) return undefined;
      return { kind: 'usdc', holder: StrKey.encodeEd25519PublicKey(tl.accountId().ed25519()) };
    }
    case 'contractData': {
      const cd = key.contractData();
      const contract = Address.fromScAddress(cd.contract()).toString();
      const k = cd.key();
      const durability = cd.durability().name;
      if (k.switch().name === 'scvLedgerKeyNonce' && durability === 'temporary') {
        return { kind: 'nonce', address: contract, nonce: BigInt(k.nonceKey().nonce().toString()) };
      }
      if (contract === net.usdcContract && durability === 'temporary') return allowanceRef(k);
      if (contract !== net.usdcContract || durability !== 'persistent') return undefined;
      if (k.switch().name === 'scvLedgerKeyContractInstance') return { kind: 'instance' };
      const vec = k.switch().name === 'scvVec' ? (k.vec() ?? []) : [];
      const [tag, who] = vec;
      if (vec.length === 2 && tag?.switch().name === 'scvSymbol' && tag.sym().toString() === 'Balance' && who?.switch().name === 'scvAddress') {
        const holder = Address.fromScAddress(who.address()).toString();
        // The SAC keeps G balances in trustlines, never in contract data.
        return StrKey.isValidContract(holder) ? { kind: 'usdc', holder } : undefined;
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

export interface BuiltEntry {
  entry: xdr.LedgerEntry;
  liveUntilLedgerSeq?: number;
}

export function buildEntry(ref: EntryRef, reader: EntryReader): BuiltEntry | undefined {
  switch (ref.kind) {
    case 'account': {
      const a = reader.account(ref.id);
      if (!a) return undefined;
      const hasTrustline = reader.usdc(ref.id) !== undefined;
      return { entry: ledgerEntry(a.lastModified, xdr.LedgerEntryData.account(accountEntry(ref.id, a, hasTrustline ? 1 : 0))) };
    }
    case 'usdc': {
      const h = reader.usdc(ref.holder);
      if (!h) return undefined;
      if (StrKey.isValidEd25519PublicKey(ref.holder)) {
        const tl = new xdr.TrustLineEntry({
          accountId: Keypair.fromPublicKey(ref.holder).xdrAccountId(),
          asset: reader.network.usdcAsset.toTrustLineXDRObject(),
          balance: i64(h.balance),
          limit: i64(INT64_MAX),
          flags: TRUSTLINE_AUTHORIZED_FLAG,
          ext: new xdr.TrustLineEntryExt(0),
        });
        return { entry: ledgerEntry(h.lastModified, xdr.LedgerEntryData.trustline(tl)) };
      }
      const val = xdr.ScVal.scvMap([
        new xdr.ScMapEntry({ key: xdr.ScVal.scvSymbol('amount'), val: i128(h.balance) }),
        new xdr.ScMapEntry({ key: xdr.ScVal.scvSymbol('authorized'), val: xdr.ScVal.scvBool(true) }),
        new xdr.ScMapEntry({ key: xdr.ScVal.scvSymbol('clawback'), val: xdr.ScVal.scvBool(false) }),
      ]);
      return {
        entry: ledgerEntry(h.lastModified, contractData(new Address(reader.network.usdcContract), balanceKeyVal(ref.holder), xdr.ContractDataDurability.persistent(), val)),
        liveUntilLedgerSeq: h.lastModified + MIN_PERSISTENT_TTL_LEDGERS,
      };
    }
    case 'instance':
      return {
        entry: ledgerEntry(GENESIS_LEDGER, contractData(new Address(reader.network.usdcContract), xdr.ScVal.scvLedgerKeyContractInstance(), xdr.ContractDataDurability.persistent(), sacInstance(reader.network))),
        liveUntilLedgerSeq: GENESIS_LEDGER + MIN_PERSISTENT_TTL_LEDGERS * 10,
      };
    case 'nonce': {
      const expiration = reader.nonce(ref.address, ref.nonce);
      if (expiration === undefined) return undefined;
      return {
        entry: ledgerEntry(expiration, contractData(new Address(ref.address), nonceKeyVal(ref.nonce), xdr.ContractDataDurability.temporary(), xdr.ScVal.scvVoid())),
        liveUntilLedgerSeq: expiration,
      };
    }
    case 'allowance': {
      const a = reader.allowance(ref.from, ref.spender);
      if (!a) return undefined;
      const val = xdr.ScVal.scvMap([
        new xdr.ScMapEntry({ key: xdr.ScVal.scvSymbol('amount'), val: i128(a.amount) }),
        new xdr.ScMapEntry({ key: xdr.ScVal.scvSymbol('live_until_ledger'), val: xdr.ScVal.scvU32(a.liveUntil) }),
      ]);
      return {
        entry: ledgerEntry(a.lastModified, contractData(new Address(reader.network.usdcContract), allowanceKeyVal(ref.from, ref.spender), xdr.ContractDataDurability.temporary(), val)),
        liveUntilLedgerSeq: a.ttl,
      };
    }
  }
}

export function accountEntry(id: string, a: AccountState, numSubEntries: number): xdr.AccountEntry {
  const v3 = new xdr.AccountEntryExtensionV3({ ext: new xdr.ExtensionPoint(0), seqLedger: a.seqLedger, seqTime: u64(a.seqTime) });
  const v2 = new xdr.AccountEntryExtensionV2({ numSponsored: 0, numSponsoring: 0, signerSponsoringIDs: [], ext: new xdr.AccountEntryExtensionV2Ext(3, v3) });
  const v1 = new xdr.AccountEntryExtensionV1({
    liabilities: new xdr.Liabilities({ buying: i64(0n), selling: i64(0n) }),
    ext: new xdr.AccountEntryExtensionV1Ext(2, v2),
  });
  return new xdr.AccountEntry({
    accountId: Keypair.fromPublicKey(id).xdrAccountId(),
    balance: i64(a.balance),
    seqNum: i64(a.seqNum),
    numSubEntries,
    inflationDest: null,
    flags: 0,
    homeDomain: '',
    thresholds: Buffer.from([1, 0, 0, 0]),
    signers: [],
    ext: new xdr.AccountEntryExt(1, v1),
  });
}

function ledgerEntry(lastModified: number, data: xdr.LedgerEntryData): xdr.LedgerEntry {
  return new xdr.LedgerEntry({ lastModifiedLedgerSeq: lastModified, data, ext: new xdr.LedgerEntryExt(0) });
}

function contractDataKey(contract: Address, key: xdr.ScVal, durability: xdr.ContractDataDurability): xdr.LedgerKey {
  return xdr.LedgerKey.contractData(new xdr.LedgerKeyContractData({ contract: contract.toScAddress(), key, durability }));
}

function contractData(contract: Address, key: xdr.ScVal, durability: xdr.ContractDataDurability, val: xdr.ScVal): xdr.LedgerEntryData {
  return xdr.LedgerEntryData.contractData(
    new xdr.ContractDataEntry({ ext: new xdr.ExtensionPoint(0), contract: contract.toScAddress(), key, durability, val }),
  );
}

function balanceKeyVal(holder: string): xdr.ScVal {
  return xdr.ScVal.scvVec([xdr.ScVal.scvSymbol('Balance'), new Address(holder).toScVal()]);
}

/** The SAC's `DataKey::Allowance(AllowanceDataKey {from, spender})`: an enum variant over a struct (map, keys sorted). */
function allowanceKeyVal(from: string, spender: string): xdr.ScVal {
  return xdr.ScVal.scvVec([
    xdr.ScVal.scvSymbol('Allowance'),
    xdr.ScVal.scvMap([
      new xdr.ScMapEntry({ key: xdr.ScVal.scvSymbol('from'), val: new Address(from).toScVal() }),
      new xdr.ScMapEntry({ key: xdr.ScVal.scvSymbol('spender'), val: new Address(spender).toScVal() }),
    ]),
  ]);
}

function allowanceRef(k: xdr.ScVal): EntryRef | undefined {
  const vec = k.switch().name === 'scvVec' ? (k.vec() ?? []) : [];
  const [tag, body] = vec;
  if (vec.length !== 2 || tag?.switch().name !== 'scvSymbol' || tag.sym().toString() !== 'Allowance' || body?.switch().name !== 'scvMap') return undefined;
  const fields = body.map() ?? [];
  const field = (name: string) => fields.find((f) => f.key().switch().name === 'scvSymbol' && f.key().sym().toString() === name)?.val();
  const from = field('from');
  const spender = field('spender');
  if (fields.length !== 2 || from?.switch().name !== 'scvAddress' || spender?.switch().name !== 'scvAddress') return undefined;
  return { kind: 'allowance', from: Address.fromScAddress(from.address()).toString(), spender: Address.fromScAddress(spender.address()).toString() };
}

function nonceKeyVal(nonce: bigint): xdr.ScVal {
  return xdr.ScVal.scvLedgerKeyNonce(new xdr.ScNonceKey({ nonce: i64(nonce) }));
}

function sacInstance(net: LocalnetNetwork): xdr.ScVal {
  const sym = (s: string) => xdr.ScVal.scvSymbol(s);
  const metadata = xdr.ScVal.scvMap([
    new xdr.ScMapEntry({ key: sym('decimal'), val: xdr.ScVal.scvU32(USDC_DECIMALS) }),
    new xdr.ScMapEntry({ key: sym('name'), val: xdr.ScVal.scvString(net.usdcAssetString) }),
    new xdr.ScMapEntry({ key: sym('symbol'), val: xdr.ScVal.scvString(net.usdcAsset.getCode()) }),
  ]);
  const assetInfo = xdr.ScVal.scvVec([
    sym('AlphaNum4'),
    xdr.ScVal.scvMap([
      new xdr.ScMapEntry({ key: sym('asset_code'), val: xdr.ScVal.scvString(net.usdcAsset.getCode()) }),
      new xdr.ScMapEntry({ key: sym('issuer'), val: xdr.ScVal.scvBytes(StrKey.decodeEd25519PublicKey(net.usdcIssuer)) }),
    ]),
  ]);
  // Storage map keys must be sorted as the host sorts ScVals: a Symbol sorts before a Vec.
  const storage = [
    new xdr.ScMapEntry({ key: sym('METADATA'), val: metadata }),
    new xdr.ScMapEntry({ key: xdr.ScVal.scvVec([sym('Admin')]), val: new Address(net.usdcIssuer).toScVal() }),
    new xdr.ScMapEntry({ key: xdr.ScVal.scvVec([sym('AssetInfo')]), val: assetInfo }),
  ];
  return xdr.ScVal.scvContractInstance(new xdr.ScContractInstance({ executable: xdr.ContractExecutable.contractExecutableStellarAsset(), storage }));
}
