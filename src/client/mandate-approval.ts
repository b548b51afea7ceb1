import { randomBytes } from 'node:crypto';
import { Address, authorizeEntry, nativeToScVal, xdr, type Keypair } from '@stellar/stellar-sdk';

/**
 * What an owner signs for a mandate: the authorization entry of SEP-41
 * `approve(from, spender, amount, live_until_ledger)` on the USDC contract — only the entry, as a
 * payer signs only its auth entry in x402; card402 puts it in a transaction and pays the fee.
 */
export interface ApproveTerms {
  contract: string;
  from: string;
  spender: string;
  amountAtomic: bigint;
  liveUntilLedger: number;
}

export function approveEntry(terms: ApproveTerms): xdr.SorobanAuthorizationEntry {
  const args = [
    nativeToScVal(terms.from, { type: 'address' }),
    nativeToScVal(terms.spender, { type: 'address' }),
    nativeToScVal(terms.amountAtomic, { type: 'i128' }),
    xdr.ScVal.scvU32(terms.liveUntilLedger),
  ];
  const invocation = new xdr.InvokeContractArgs({ contractAddress: new Address(terms.contract).toScAddress(), functionName: 'approve', args });
  return new xdr.SorobanAuthorizationEntry({
    credentials: xdr.SorobanCredentials.sorobanCredentialsAddress(
      new xdr.SorobanAddressCredentials({
        address: new Address(terms.from).toScAddress(),
        nonce: xdr.Int64.fromString(randomBytes(8).readBigInt64BE().toString()),
        signatureExpirationLedger: 0,
        signature: xdr.ScVal.scvVoid(),
      }),
    ),
    rootInvocation: new xdr.SorobanAuthorizedInvocation({ function: xdr.SorobanAuthorizedFunction.sorobanAuthorizedFunctionTypeContractFn(invocation), subInvocations: [] }),
  });
}

/** The entry signed by `keypair` (who must be `from`), valid until `expirationLedger`; base64 XDR. */
export async function signApproveEntry(terms: ApproveTerms, keypair: Keypair, expirationLedger: number, networkPassphrase: string): Promise<string> {
  if (keypair.publicKey() !== terms.from) throw new Error('only the owner (from) can sign this approve');
  const signed = await authorizeEntry(approveEntry(terms), keypair, expirationLedger, networkPassphrase);
  return signed.toXDR('base64');
}
