import { randomBytes } from 'node:crypto';
import { Address, StrKey, hash, xdr } from '@stellar/stellar-sdk';
import { MAX_ENTRY_TTL_LEDGERS, MAX_SIGNATURES } from './constants.js';
import { verifyEd25519 } from '../stellar/ed25519.js';
import { HostError } from './host-error.js';
import type { LedgerView } from './view.js';

/** Enforcing uses the op's own entries; recording (simulation without auth) writes the entries a signer must sign. */
export type AuthMode = { kind: 'enforce'; entries: readonly xdr.SorobanAuthorizationEntry[] } | { kind: 'record' };

export interface AuthContext {
  view: LedgerView;
  networkId: Buffer;
  /** The op's source account (or the tx source): it may authorize with source-account credentials. */
  sourceAccount: string;
  ledgerSeq: number;
}

/** Cost model: the real host spends roughly this many instructions per ed25519 verification. */
export const INSTRUCTIONS_PER_SIGNATURE = 380_000;

/**
 * The part of the Soroban host's authorization manager a SAC call needs: `require_auth(address)` for a root
 * invocation. Every check here is one the network makes; removing any of them lets a forged or replayed
 * payment through, and the rejection tests cover each.
 */
export class AuthManager {
  private readonly consumed = new Set<number>();
  readonly recorded: xdr.SorobanAuthorizationEntry[] = [];
  instructions = 0;

  constructor(
    private readonly mode: AuthMode,
    private readonly ctx: AuthContext,
  ) {}

  requireAuth(address: string, call: xdr.InvokeContractArgs): void {
    const fn = xdr.SorobanAuthorizedFunction.sorobanAuthorizedFunctionTypeContractFn(call);
    if (this.mode.kind === 'record') {
      this.record(address, fn);
      return;
    }
    const wanted = fn.toXDR('base64');
    const entries = this.mode.entries;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i];
      if (!entry || this.consumed.has(i)) continue;
      if (entry.rootInvocation().function().toXDR('base64') !== wanted) continue;
      const creds = entry.credentials();
      if (creds.switch().name === 'sorobanCredentialsSourceAccount') {
        if (address !== this.ctx.sourceAccount) continue;
        this.consumed.add(i);
        return;
      }
      const addressCreds = creds.address();
      if (Address.fromScAddress(addressCreds.address()).toString() !== address) continue;
      this.consumed.add(i);
      this.verifyAddressCredentials(address, addressCreds, entry.rootInvocation());
      return;
    }
    throw new HostError('Auth', 'InvalidAction', 'auth_not_authorized', `no authorization entry for ${address} matches the invocation`);
  }

  private record(address: string, fn: xdr.SorobanAuthorizedFunction): void {
    const rootInvocation = new xdr.SorobanAuthorizedInvocation({ function: fn, subInvocations: [] });
    if (address === this.ctx.sourceAccount) {
      this.recorded.push(new xdr.SorobanAuthorizationEntry({ credentials: xdr.SorobanCredentials.sorobanCredentialsSourceAccount(), rootInvocation }));
      return;
    }
    requireAccountAddress(address);
    const nonce = randomBytes(8).readBigInt64BE();
    // The signature the signer will add is verified against the account, and the nonce entry is written:
    // both must be in the footprint simulation returns, or the signed transaction could not apply.
    this.ctx.view.read({ kind: 'account', id: address });
    this.ctx.view.write({ kind: 'nonce', address, nonce });
    this.instructions += INSTRUCTIONS_PER_SIGNATURE;
    this.recorded.push(
      new xdr.SorobanAuthorizationEntry({
        credentials: xdr.SorobanCredentials.sorobanCredentialsAddress(
          new xdr.SorobanAddressCredentials({
            address: new Address(address).toScAddress(),
            nonce: xdr.Int64.fromString(nonce.toString()),
            signatureExpirationLedger: 0,
            signature: xdr.ScVal.scvVoid(),
          }),
        ),
        rootInvocation,
      }),
    );
  }

  private verifyAddressCredentials(address: string, creds: xdr.SorobanAddressCredentials, invocation: xdr.SorobanAuthorizedInvocation): void {
    requireAccountAddress(address);
    const { view, ledgerSeq, networkId } = this.ctx;
    const expiration = creds.signatureExpirationLedger();
    if (ledgerSeq > expiration) {
      throw new HostError('Auth', 'InvalidAction', 'auth_expired', `signature expired at ledger ${expiration}, current ledger is ${ledgerSeq}`);
    }
    if (expiration > ledgerSeq + MAX_ENTRY_TTL_LEDGERS - 1) {
      throw new HostError('Auth', 'InvalidAction', 'auth_expiration_too_far', `signature expiration ${expiration} is beyond the maximum entry TTL`);
    }
    const nonce = BigInt(creds.nonce().toString());
    view.write({ kind: 'nonce', address, nonce });
    if (view.nonce(address, nonce) !== undefined) {
      throw new HostError('Auth', 'ExistingValue', 'auth_nonce_reused', `nonce ${nonce} was already used by ${address}`);
    }
    const preimage = xdr.HashIdPreimage.envelopeTypeSorobanAuthorization(
      new xdr.HashIdPreimageSorobanAuthorization({ networkId, nonce: creds.nonce(), signatureExpirationLedger: expiration, invocation }),
    );
    const payload = hash(preimage.toXDR());
    this.checkAccountSignatures(address, payload, creds.signature());
    view.putNonce(address, nonce, expiration);
  }

  /** The built-in classic-account check: a vec of {public_key, signature} maps, sorted, each a valid signer. */
  private checkAccountSignatures(address: string, payload: Buffer, signature: xdr.ScVal): void {
    const view = this.ctx.view;
    view.read({ kind: 'account', id: address });
    if (!view.account(address)) {
      throw new HostError('Storage', 'MissingValue', 'auth_account_missing', `account ${address} does not exist`);
    }
    if (signature.switch().name !== 'scvVec') {
      throw new HostError('Auth', 'InvalidAction', 'auth_bad_signature_format', 'account signatures must be a vec of {public_key, signature} maps');
    }
    const sigs = signature.vec() ?? [];
    if (sigs.length === 0) throw new HostError('Auth', 'InvalidAction', 'auth_no_signatures', 'no account signatures found');
    if (sigs.length > MAX_SIGNATURES) throw new HostError('Auth', 'InvalidAction', 'auth_too_many_signatures', 'too many account signers');
    const master = StrKey.decodeEd25519PublicKey(address);
    let previous: Buffer | undefined;
    for (const sig of sigs) {
      const { publicKey, signatureBytes } = parseSignatureMap(sig);
      if (previous && Buffer.compare(previous, publicKey) >= 0) {
        throw new HostError('Auth', 'InvalidAction', 'auth_signatures_out_of_order', 'account signatures must be sorted by public key without duplicates');
      }
      previous = publicKey;
      this.instructions += INSTRUCTIONS_PER_SIGNATURE;
      if (!verifyEd25519(publicKey, payload, signatureBytes)) {
        throw new HostError('Auth', 'InvalidAction', 'auth_bad_signature', `signature by ${StrKey.encodeEd25519PublicKey(publicKey)} does not verify`);
      }
      // Friendbot accounts have no extra signers: only the master key (weight 1) can sign for them.
      if (!publicKey.equals(master)) {
        throw new HostError('Auth', 'InvalidAction', 'auth_signer_not_account', `${StrKey.encodeEd25519PublicKey(publicKey)} is not a signer of ${address}`);
      }
    }
    // Master weight 1 against a medium threshold of 0: one valid master signature is enough, none is not.
  }
}

function requireAccountAddress(address: string): void {
  if (!StrKey.isValidEd25519PublicKey(address)) {
    throw new HostError('Auth', 'InvalidAction', 'auth_contract_account_unsupported', `${address} is a contract account; the local ledger only runs the USDC SAC, not account contracts`);
  }
}

function parseSignatureMap(sig: xdr.ScVal): { publicKey: Buffer; signatureBytes: Buffer } {
  const bad = () => new HostError('Auth', 'InvalidAction', 'auth_bad_signature_format', 'each account signature must be a map {public_key: BytesN<32>, signature: BytesN<64>}');
  if (sig.switch().name !== 'scvMap') throw bad();
  const entries = sig.map() ?? [];
  if (entries.length !== 2) throw bad();
  const [pk, sg] = entries;
  if (!pk || !sg) throw bad();
  const isSym = (v: xdr.ScVal, name: string) => v.switch().name === 'scvSymbol' && v.sym().toString() === name;
  if (!isSym(pk.key(), 'public_key') || !isSym(sg.key(), 'signature')) throw bad();
  if (pk.val().switch().name !== 'scvBytes' || sg.val().switch().name !== 'scvBytes') throw bad();
  const publicKey = pk.val().bytes();
  const signatureBytes = sg.val().bytes();
  if (publicKey.length !== 32 || signatureBytes.length !== 64) throw bad();
  return { publicKey, signatureBytes };
}
