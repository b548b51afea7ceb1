import { Address, Contract, Keypair, Transaction, TransactionBuilder, authorizeEntry, nativeToScVal, rpc, xdr } from '@stellar/stellar-sdk';
import { createLocalnet, serveLocalnet, LOCALNET_PASSPHRASE, LOCALNET_USDC_CONTRACT, type Localnet, type LocalnetOptions, type LocalnetServer } from '../../src/localnet/index.js';

export const USDC = 10_000_000n; // atomic units per USDC

export interface Harness {
  localnet: Localnet;
  server: LocalnetServer;
  rpc: rpc.Server;
  close(): Promise<void>;
}

export async function startLocalnet(opts: LocalnetOptions = {}): Promise<Harness> {
  const localnet = createLocalnet({ ledgerMs: 'manual', ...opts });
  const server = await serveLocalnet(localnet, { port: 0 });
  return {
    localnet,
    server,
    rpc: new rpc.Server(server.rpcUrl, { allowHttp: true }),
    async close() {
      await server.close();
      await localnet.stop();
    },
  };
}

export function transferOp(from: string, to: string, amount: bigint, auth?: xdr.SorobanAuthorizationEntry[]): xdr.Operation {
  const op = new Contract(LOCALNET_USDC_CONTRACT).call(
    'transfer',
    nativeToScVal(from, { type: 'address' }),
    nativeToScVal(to, { type: 'address' }),
    nativeToScVal(amount, { type: 'i128' }),
  );
  if (!auth) return op;
  const body = op.body().invokeHostFunctionOp();
  body.auth(auth);
  return op;
}

export async function buildTx(h: Harness, source: string, op: xdr.Operation, fee = '100'): Promise<Transaction> {
  const account = await h.rpc.getAccount(source);
  return new TransactionBuilder(account, { fee, networkPassphrase: LOCALNET_PASSPHRASE }).addOperation(op).setTimeout(60).build();
}

/** What the payer does in x402: take the recorded auth entry from a simulation and sign it. */
export async function signedPayerAuth(
  h: Harness,
  payer: Keypair,
  to: string,
  amount: bigint,
  opts: { channel: string; expiration?: number; signer?: Keypair; passphrase?: string },
): Promise<xdr.SorobanAuthorizationEntry> {
  const tx = await buildTx(h, opts.channel, transferOp(payer.publicKey(), to, amount));
  const sim = await h.rpc.simulateTransaction(tx);
  if (!rpc.Api.isSimulationSuccess(sim)) throw new Error(`simulation failed: ${sim.error}`);
  const [entry] = sim.result?.auth ?? [];
  if (!entry) throw new Error('simulation recorded no auth entry');
  const expiration = opts.expiration ?? h.localnet.latestLedger() + 12;
  return authorizeEntry(entry, opts.signer ?? payer, expiration, opts.passphrase ?? LOCALNET_PASSPHRASE);
}

/** Facilitator side: put the op + signed auth in a tx from the channel account, prepare, sign, send. */
export async function prepareAndSign(h: Harness, channel: Keypair, op: xdr.Operation): Promise<Transaction> {
  const tx = await buildTx(h, channel.publicKey(), op);
  const prepared = await h.rpc.prepareTransaction(tx);
  prepared.sign(channel);
  return prepared as Transaction;
}

export function fundedAccount(localnet: Localnet, usdc = 0n): Keypair {
  const kp = Keypair.random();
  localnet.fundXlm(kp.publicKey());
  localnet.mintUsdc(kp.publicKey(), usdc);
  return kp;
}

export function addressOf(kp: Keypair): string {
  return Address.fromString(kp.publicKey()).toString();
}

/** Replaces the op's auth in an unsigned, prepared tx; footprint and fee stay as simulated for the original. */
export function withAuth(prepared: Transaction, auth: xdr.SorobanAuthorizationEntry[]): Transaction {
  const env = xdr.TransactionEnvelope.fromXDR(prepared.toEnvelope().toXDR());
  const op = env.v1().tx().operations()[0];
  if (!op) throw new Error('no operation');
  op.body().invokeHostFunctionOp().auth(auth);
  return new Transaction(env, LOCALNET_PASSPHRASE);
}

/** A recorded, unsigned address-credential auth entry for `from` (fresh random nonce). */
export async function recordedAuth(h: Harness, from: string, to: string, amount: bigint, channel: string): Promise<xdr.SorobanAuthorizationEntry> {
  const tx = await buildTx(h, channel, transferOp(from, to, amount));
  const sim = await h.rpc.simulateTransaction(tx);
  if (!rpc.Api.isSimulationSuccess(sim)) throw new Error(`simulation failed: ${sim.error}`);
  const [entry] = sim.result?.auth ?? [];
  if (!entry) throw new Error('no auth entry recorded');
  return entry;
}

export function txResultCode(resultXdr: string | xdr.TransactionResult): string {
  const r = typeof resultXdr === 'string' ? xdr.TransactionResult.fromXDR(resultXdr, 'base64') : resultXdr;
  return r.result().switch().name;
}

/** The InvokeHostFunction result code of an applied single-op transaction. */
export function opResultCode(r: xdr.TransactionResult): string {
  const res = r.result();
  const ops = res.switch().name.startsWith('txFeeBump') ? res.innerResultPair().result().result().results() : res.results();
  const op = ops[0];
  if (!op) throw new Error('no op result');
  return op.tr().invokeHostFunctionResult().switch().name;
}

/** An invocation of the local USDC contract: `fn(args…)`, with `auth` when given. */
export function usdcOp(fn: string, args: xdr.ScVal[], auth?: xdr.SorobanAuthorizationEntry[]): xdr.Operation {
  const op = new Contract(LOCALNET_USDC_CONTRACT).call(fn, ...args);
  if (auth) op.body().invokeHostFunctionOp().auth(auth);
  return op;
}

export type Invoked =
  | { ok: true; hash: string; status: 'SUCCESS' | 'FAILED'; events: xdr.ContractEvent[]; returnValue: xdr.ScVal | undefined }
  | { ok: false; error: string };

/**
 * What a wallet or facilitator does for any contract call: simulate from `source` (recording auth), sign each
 * recorded address entry with the signer for that address, re-simulate with the signed entries, sign, send,
 * close a ledger. Simulation refusals come back as `{ok: false, error}` (the host's error text).
 */
export async function invoke(h: Harness, source: Keypair, op: xdr.Operation, signers: Keypair[] = []): Promise<Invoked> {
  const sim = await h.rpc.simulateTransaction(await buildTx(h, source.publicKey(), op));
  if (!rpc.Api.isSimulationSuccess(sim)) return { ok: false, error: sim.error };
  const signed: xdr.SorobanAuthorizationEntry[] = [];
  for (const entry of sim.result?.auth ?? []) {
    if (entry.credentials().switch().name !== 'sorobanCredentialsAddress') {
      signed.push(entry);
      continue;
    }
    const address = Address.fromScAddress(entry.credentials().address().address()).toString();
    const signer = signers.find((k) => k.publicKey() === address);
    if (!signer) throw new Error(`no signer given for ${address}`);
    signed.push(await authorizeEntry(entry, signer, h.localnet.latestLedger() + 12, LOCALNET_PASSPHRASE));
  }
  const body = op.body().invokeHostFunctionOp();
  const withSigned = usdcOp(body.hostFunction().invokeContract().functionName().toString(), body.hostFunction().invokeContract().args(), signed);
  let prepared: Transaction;
  try {
    prepared = (await h.rpc.prepareTransaction(await buildTx(h, source.publicKey(), withSigned))) as Transaction;
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  prepared.sign(source);
  const sent = await h.rpc.sendTransaction(prepared);
  if (sent.status !== 'PENDING') throw new Error(`send answered ${sent.status}`);
  await h.localnet.closeLedger();
  const got = await h.rpc.getTransaction(sent.hash);
  if (got.status === rpc.Api.GetTransactionStatus.NOT_FOUND) throw new Error('transaction was not applied');
  const meta = got.resultMetaXdr;
  const v4 = meta.switch() === 4 ? meta.v4() : undefined;
  const events = v4 ? v4.operations().flatMap((o) => o.events()) : [];
  return { ok: true, hash: sent.hash, status: got.status === rpc.Api.GetTransactionStatus.SUCCESS ? 'SUCCESS' : 'FAILED', events, returnValue: v4?.sorobanMeta()?.returnValue() ?? undefined };
}

/** The value a read-only call returns in simulation (no transaction sent). */
export async function simulateRead(h: Harness, source: string, op: xdr.Operation): Promise<xdr.ScVal> {
  const sim = await h.rpc.simulateTransaction(await buildTx(h, source, op));
  if (!rpc.Api.isSimulationSuccess(sim)) throw new Error(`simulation failed: ${sim.error}`);
  const retval = sim.result?.retval;
  if (!retval) throw new Error('simulation returned no value');
  return retval;
}
