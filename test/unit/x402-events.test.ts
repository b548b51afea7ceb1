import { Address, Keypair, StrKey, nativeToScVal, xdr } from '@stellar/stellar-sdk';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildRequirements } from '../../src/x402/challenge.js';
import { checkEvents, type InspectedPayment } from '../../src/x402/verify.js';

const asset = 'CBIELTK6YBZJU5UP2WWQEUCYKLPU6AUNZ2BQ4WWFEIE3USCIHMXQDAMA';
const payer = Keypair.random().publicKey();
const payTo = Keypair.random().publicKey();
const requirements = buildRequirements({ network: 'stellar:testnet', asset, payTo, maxTimeoutSeconds: 60 }, 1_000n);
const inspected = { payer } as InspectedPayment;

function event(opts: { name?: string; contract?: string; from?: string; to?: string; data?: xdr.ScVal; type?: 'contract' | 'diagnostic' }) {
  const topics = [
    xdr.ScVal.scvSymbol(opts.name ?? 'transfer'),
    nativeToScVal(opts.from ?? payer, { type: 'address' }),
    nativeToScVal(opts.to ?? payTo, { type: 'address' }),
    xdr.ScVal.scvString('USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN'),
  ];
  return new xdr.DiagnosticEvent({
    inSuccessfulContractCall: true,
    event: new xdr.ContractEvent({
      ext: new xdr.ExtensionPoint(0),
      contractId: Address.fromString(opts.contract ?? asset).toScAddress().contractId(),
      type: opts.type === 'diagnostic' ? xdr.ContractEventType.diagnostic() : xdr.ContractEventType.contract(),
      body: new xdr.ContractEventBody(0, new xdr.ContractEventV0({ topics, data: opts.data ?? nativeToScVal(1_000n, { type: 'i128' }) })),
    }),
  });
}

describe('simulation event check (exactly the expected balance change)', () => {
  it('accepts exactly one transfer payer → payTo of the amount on the asset', () => {
    expect(checkEvents([event({})], inspected, requirements).ok).toBe(true);
  });
  it('accepts CAP-67 map data {amount, to_muxed_id}', () => {
    const data = xdr.ScVal.scvMap([
      new xdr.ScMapEntry({ key: xdr.ScVal.scvSymbol('amount'), val: nativeToScVal(1_000n, { type: 'i128' }) }),
      new xdr.ScMapEntry({ key: xdr.ScVal.scvSymbol('to_muxed_id'), val: nativeToScVal(7n, { type: 'u64' }) }),
    ]);
    expect(checkEvents([event({ data })], inspected, requirements).ok).toBe(true);
  });
  it('ignores diagnostic events', () => {
    expect(checkEvents([event({ type: 'diagnostic', name: 'fn_call' }), event({})], inspected, requirements).ok).toBe(true);
  });
  it.each([
    ['transfer_event_missing', []],
    ['unexpected_events', [event({}), event({})]],
    ['unexpected_events', [event({}), event({ name: 'mint' })]],
    ['unexpected_events', [event({ contract: StrKey.encodeContract(randomBytes(32)) })]],
    ['transfer_event_mismatch', [event({ data: nativeToScVal(999n, { type: 'i128' }) })]],
    ['transfer_event_mismatch', [event({ to: Keypair.random().publicKey() })]],
    ['transfer_event_mismatch', [event({ from: Keypair.random().publicKey() })]],
  ] as const)('%s', (reason, events) => {
    const result = checkEvents([...events], inspected, requirements);
    expect(result).toEqual({ ok: false, reason, payer });
  });
});
