import { parseArgs } from 'node:util';
import { Keypair, StrKey } from '@stellar/stellar-sdk';
import { Card402Client, type PaymentProgress } from '../client/card402-client.js';
import { ApiError, Card402Error, InsufficientBalanceError, PaymentError, PaymentRefusedError, TimeoutError } from '../client/errors.js';
import type * as Api from '../protocol/api.js';
import { parseDollarsToCents } from '../protocol/money/units.js';
import { SESSION_USAGE, sessionCommand } from './commands/card-session.js';
import { CliError, EXIT } from './errors.js';
import { Progress, dollars, groupCardNumber, maskCardNumber, table, usdc } from './format.js';
import { terminalJson, terminalLine } from './terminal.js';
import { loadPins, loadWallet, savePin, saveWallet } from './wallet-file.js';
import { Output, type CliIo } from './output.js';
import { fetchFriendbot, friendbotUrl, isLocalFriendbot, settingsFrom, type Settings } from './settings.js';
import { installCommand, mcpDoctorChecks } from './commands/install.js';
import { mcpCommand } from './commands/mcp.js';
import { onboardCommand } from './commands/onboard.js';
import { cardLimitCommand, sandboxCommand } from './commands/spend.js';
import { askYesNo, cardClose } from './commands/card-close.js';
import { approveCommand, confirmOnTerminal, rejectCommand, requestCommand, type CommandContext } from './commands/payment-requests.js';
import { MANDATE_USAGE, clientForApi, mandateCommand } from './commands/mandate.js';

const USAGE = `card402 — buy and manage virtual cards with USDC on Stellar (x402)

Usage: card402 <command> [options]

Wallet
  wallet create [--force]            new key in ~/.card402/wallet.json (mode 0600)
  wallet import                      import a secret seed from CARD402_SECRET or standard input
  wallet info                        address, XLM/USDC status on the RPC
  wallet fund [--usdc N]             friendbot XLM (+ N test USDC on the local ledger, default 100)
Service
  health | pricing | doctor          doctor also checks the MCP configurations
Agents (MCP)
  mcp                                the MCP server over stdio (started by the agent's client)
  install --client claude|cursor|codex [--scope user|project] [--dry-run]
                                     add card402 to that client's MCP configuration
  onboard [-y] [--client NAME]       wallet, funding, MCP configuration, skill file, next step
Cards
  cards [--assigned]                 list the cards you bought (--assigned: cards other wallets
                                     bought and named you owner of)
  card <id>                          one card (no card data)
  card create --amount N --name NAME --email EMAIL [--owner G...]
  card fund <id> --amount N
  card details <id> [--reveal]       card number and CVV (masked unless --reveal), sealed to a
                                     one-time key and opened here
${SESSION_USAGE}  card freeze|unfreeze|revoke|restore <id>
  card close <id> [-y|--yes]         close for good; the balance goes back to the owner on-chain
                                     (asks first at a terminal; --yes is needed without one)
  card transactions <id> [--limit N]
  card balance <id>
  card limit <id> --amount N --per day|week|month|year|authorization|all
  payment <paymentId>
Sandbox card network (local and test servers)
  sandbox charge <id> --amount N --merchant NAME --mcc NNNN [--country US]
                                     charge your card as a merchant would (card data never printed)
Owner-approved purchases (the owner pays from a link)
  request card --amount N --name NAME --email EMAIL [--owner G...] [--note TEXT] [--no-wait]
                                     ask the owner to pay; prints the link and waits
  request fund <cardId> --amount N [--owner G...] [--note TEXT] [--no-wait]
  request show <id>                  a payment request's status (and its card once completed)
  approve <approvalUrl> [-y]         review, confirm and pay a request with your wallet (a mandate's
                                     link: sign its on-chain approve, as mandate approve)
  reject <approvalUrl>               reject a request; it can never be paid
${MANDATE_USAGE}

Options
  --json            machine-readable output on stdout
  --api URL         card402 API (CARD402_API_URL, default http://localhost:4020)
  --rpc URL         Soroban RPC (CARD402_RPC_URL, default http://localhost:8000/soroban/rpc)
  --network NAME    stellar:testnet | stellar:pubnet (CARD402_NETWORK, default stellar:testnet)
  --wallet FILE     wallet key file (CARD402_WALLET, default ~/.card402/wallet.json)
  --spend-cap USD   most this command (or one mcp session) may pay (CARD402_SPEND_CAP, default 100)
  --max-payment USD most one payment may cost (CARD402_MAX_PAYMENT, default: the spend cap)
`;


const OPTIONS = {
  json: { type: 'boolean' },
  api: { type: 'string' },
  rpc: { type: 'string' },
  network: { type: 'string' },
  wallet: { type: 'string' },
  'spend-cap': { type: 'string' },
  amount: { type: 'string' },
  name: { type: 'string' },
  email: { type: 'string' },
  owner: { type: 'string' },
  usdc: { type: 'string' },
  limit: { type: 'string' },
  reveal: { type: 'boolean' },
  assigned: { type: 'boolean' },
  force: { type: 'boolean' },
  'max-payment': { type: 'string' },
  client: { type: 'string' },
  scope: { type: 'string' },
  'dry-run': { type: 'boolean' },
  yes: { type: 'boolean', short: 'y' },
  per: { type: 'string' },
  merchant: { type: 'string' },
  mcc: { type: 'string' },
  country: { type: 'string' },
  ttl: { type: 'string' },
  'max-redemptions': { type: 'string' },
  note: { type: 'string' },
  'no-wait': { type: 'boolean' },
  mandate: { type: 'string' },
  days: { type: 'string' },
  'off-chain': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parse>['values'];

function parse(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new CliError(`${(err as Error).message} (see card402 --help)`, EXIT.usage);
  }
}


function requireArg(value: string | undefined, what: string): string {
  if (!value) throw new CliError(`missing ${what} (see card402 --help)`, EXIT.usage);
  return value;
}

function makeClient(settings: Settings, io: CliIo, progress: Progress, withWallet: boolean): Card402Client {
  const pins = loadPins(settings.pinsFile);
  return new Card402Client({
    baseUrl: settings.apiUrl,
    rpcUrl: settings.rpcUrl,
    network: settings.network,
    ...(withWallet ? { signer: loadWallet(settings.walletFile) } : {}),
    ...(pins[settings.apiUrl] ? { payTo: pins[settings.apiUrl] } : {}),
    onPayToPinned: (payTo) => savePin(settings.pinsFile, settings.apiUrl, payTo),
    limits: { spendCapAtomic: settings.spendCapAtomic, maxPaymentAtomic: settings.maxPaymentAtomic },
    onProgress: (event) => progress.update(progressText(event)),
  });
}

function progressText(event: PaymentProgress): string {
  switch (event.stage) {
    case 'challenge':
      return `402 Payment Required: ${usdc(event.amountAtomic)} to ${event.payTo.slice(0, 6)}…${event.payTo.slice(-4)}`;
    case 'signing':
      return 'signing the USDC transfer authorization';
    case 'submitting':
      return event.attempt === 1 ? 'paying and waiting for settlement on Stellar' : `resending the same payment (attempt ${event.attempt})`;
    case 'waiting':
      return `${event.reason}; retrying in ${Math.ceil(event.retryInMs / 1000)} s`;
  }
}

function cardLine(card: Api.CardSummary): string[] {
  return [card.cardId, card.nameOnCard, card.lastFour ? `…${card.lastFour}` : '', dollars(card.balance), card.status, card.createdAt];
}

async function readStdin(stdin: NodeJS.ReadStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8').trim();
}

async function walletCommand(sub: string | undefined, values: Values, settings: Settings, io: CliIo, out: Output): Promise<void> {
  switch (sub) {
    case 'create': {
      const keypair = Keypair.random();
      saveWallet(settings.walletFile, keypair, { overwrite: values.force ?? false });
      out.result({ address: keypair.publicKey(), walletFile: settings.walletFile }, `created wallet ${keypair.publicKey()}\n  key file: ${settings.walletFile} (mode 0600)\n  next: card402 wallet fund`);
      return;
    }
    case 'import': {
      const secret = io.env.CARD402_SECRET ?? (io.stdin.isTTY ? '' : await readStdin(io.stdin));
      if (!StrKey.isValidEd25519SecretSeed(secret)) throw new CliError('no valid secret seed given: set CARD402_SECRET or pipe it on standard input', EXIT.usage);
      const keypair = Keypair.fromSecret(secret);
      saveWallet(settings.walletFile, keypair, { overwrite: values.force ?? false });
      out.result({ address: keypair.publicKey(), walletFile: settings.walletFile }, `imported wallet ${keypair.publicKey()}\n  key file: ${settings.walletFile} (mode 0600)`);
      return;
    }
    case 'info': {
      const keypair = loadWallet(settings.walletFile);
      const client = new Card402Client({ baseUrl: settings.apiUrl, rpcUrl: settings.rpcUrl, network: settings.network, signer: keypair });
      const balance = await client.usdcBalance().catch(() => undefined);
      out.result(
        { address: keypair.publicKey(), walletFile: settings.walletFile, network: settings.network, usdcAtomic: balance },
        `address:  ${keypair.publicKey()}\nkey file: ${settings.walletFile}\nnetwork:  ${settings.network}\nUSDC:     ${balance === undefined ? 'unknown (RPC unreachable)' : usdc(balance)}`,
      );
      return;
    }
    case 'fund': {
      const keypair = loadWallet(settings.walletFile);
      const base = friendbotUrl(settings, io.env);
      const xlm = await fetchFriendbot(`${base}?addr=${keypair.publicKey()}`);
      const amount = values.usdc ?? '100';
      if (parseDollarsToCents(amount) === null) throw new CliError(`--usdc must be a USDC amount, got ${amount}`, EXIT.usage);
      const isLocal = isLocalFriendbot(base);
      let usdcNote = 'on testnet, get test USDC from https://faucet.circle.com (Stellar testnet) after adding a USDC trustline';
      if (isLocal) {
        await fetchFriendbot(`${base}?addr=${keypair.publicKey()}&asset=USDC&amount=${amount}`);
        usdcNote = `minted ${amount} test USDC`;
      }
      out.result({ address: keypair.publicKey(), xlm, usdc: isLocal ? amount : null }, `funded ${keypair.publicKey()} with XLM\n${usdcNote}`);
      return;
    }
    default:
      throw new CliError('usage: card402 wallet create|import|info|fund', EXIT.usage);
  }
}

async function cardCommand(args: string[], values: Values, client: Card402Client, out: Output, io: CliIo): Promise<void> {
  const [first, second] = args;
  switch (first) {
    case 'close':
      return cardClose({ cardId: requireArg(second, 'card id'), yes: values.yes ?? false, interactive: Boolean(io.stdin.isTTY && io.stderr.isTTY), confirm: (q) => askYesNo(io, q), client, print: (d, h) => out.result(d, h) });
    case 'create': {
      const input = { amount: requireArg(values.amount, '--amount'), nameOnCard: requireArg(values.name, '--name'), email: requireArg(values.email, '--email') };
      const result = values.mandate
        ? await client.createCardWithMandate(values.mandate, input)
        : await client.createCard({ ...input, ...(values.owner ? { ownerAddress: values.owner } : {}) });
      const env = result.detailsEnvelope;
      const summary = `card ${result.card.cardId} issued for ${result.card.nameOnCard}\n  balance ${dollars(result.card.balance)}, paid ${dollars(result.payment.amountCharged)} (tx ${result.payment.txHash})`;
      if (!env) {
        out.result(result, `${summary}\n  details: card402 card details ${result.card.cardId}`);
        return;
      }
      const shown = values.reveal ? groupCardNumber(env.cardNumber) : maskCardNumber(env.cardNumber);
      out.result(
        values.reveal ? result : { ...result, detailsEnvelope: { ...env, cardNumber: maskCardNumber(env.cardNumber), cvv: '***' } },
        `${summary}\n  number ${shown}  exp ${String(env.expiryMonth).padStart(2, '0')}/${env.expiryYear}  cvv ${values.reveal ? env.cvv : '***'}`,
      );
      return;
    }
    case 'fund': {
      const id = requireArg(second, 'card id');
      const amount = requireArg(values.amount, '--amount');
      const result = values.mandate ? await client.fundCardWithMandate(values.mandate, id, amount) : await client.fundCard(id, amount);
      out.result(result, `funded ${dollars(result.fundedAmount)} → balance ${dollars(result.newBalance)} (paid ${dollars(result.payment.amountCharged)}, tx ${result.payment.txHash})`);
      return;
    }
    case 'details': {
      const result = await client.getDetails(requireArg(second, 'card id'));
      const d = result.details;
      const masked = { ...d, cardNumber: maskCardNumber(d.cardNumber), cvv: '***' };
      out.result(
        values.reveal ? result : { details: masked },
        `number ${values.reveal ? groupCardNumber(d.cardNumber) : maskCardNumber(d.cardNumber)}\nexpiry ${String(d.expiryMonth).padStart(2, '0')}/${d.expiryYear}\ncvv    ${values.reveal ? d.cvv : '*** (use --reveal)'}\nbilling ${d.billingAddress.line1}, ${d.billingAddress.city} ${d.billingAddress.state} ${d.billingAddress.postalCode}, ${d.billingAddress.country}`,
      );
      return;
    }
    case 'freeze':
    case 'unfreeze': {
      const id = requireArg(second, 'card id');
      const result = first === 'freeze' ? await client.freeze(id) : await client.unfreeze(id);
      out.result(result, `card ${result.cardId} is ${result.status}`);
      return;
    }
    case 'revoke':
    case 'restore': {
      const id = requireArg(second, 'card id');
      const result = first === 'revoke' ? await client.revokeDetails(id) : await client.restoreDetails(id);
      out.result(result, `card ${result.cardId}: details ${result.detailsRevoked ? 'revoked' : 'available'}`);
      return;
    }
    case 'transactions': {
      const id = requireArg(second, 'card id');
      const limit = values.limit ? Number(values.limit) : undefined;
      if (limit !== undefined && (!Number.isInteger(limit) || limit <= 0)) throw new CliError('--limit must be a positive integer', EXIT.usage);
      const page = await client.transactions(id, limit ? { limit } : {});
      const rows = page.transactions.map((t) => [t.createdAt, t.type, dollars(t.amount), t.description]);
      out.result(page, rows.length ? table([['when', 'type', 'amount', 'description'], ...rows]) : 'no transactions');
      return;
    }
    case 'balance': {
      const result = await client.balance(requireArg(second, 'card id'));
      out.result(result, `balance ${dollars(result.balance)}`);
      return;
    }
    case 'limit':
      return cardLimitCommand(client, second, values, out);
    case undefined:
      throw new CliError('usage: card402 card <id> | card create|fund|details|freeze|unfreeze|revoke|restore|close|transactions|balance', EXIT.usage);
    default: {
      const result = await client.getCard(first);
      out.result(result, table([['card', 'name', 'last4', 'balance', 'status', 'created'], cardLine(result.card)]));
    }
  }
}

async function doctor(settings: Settings, env: NodeJS.ProcessEnv, out: Output): Promise<number> {
  const checks: Array<{ check: string; ok: boolean; detail: string }> = [];
  let keypair: Keypair | undefined;
  try {
    keypair = loadWallet(settings.walletFile);
    checks.push({ check: 'wallet', ok: true, detail: `${keypair.publicKey()} (${settings.walletFile})` });
  } catch (err) {
    checks.push({ check: 'wallet', ok: false, detail: (err as Error).message });
  }
  const client = new Card402Client({ baseUrl: settings.apiUrl, rpcUrl: settings.rpcUrl, network: settings.network, ...(keypair ? { signer: keypair } : {}) });
  try {
    const health = await client.health();
    checks.push({ check: 'api', ok: health.status === 'ok', detail: `${settings.apiUrl} ${health.status} v${health.version}` });
  } catch (err) {
    checks.push({ check: 'api', ok: false, detail: `${settings.apiUrl}: ${(err as Error).message}` });
  }
  try {
    const balance = keypair ? await client.usdcBalance() : undefined;
    checks.push({ check: 'rpc', ok: true, detail: settings.rpcUrl });
    if (balance !== undefined) checks.push({ check: 'balance', ok: balance > 0n, detail: balance > 0n ? usdc(balance) : '0 USDC: run card402 wallet fund' });
  } catch (err) {
    checks.push({ check: 'rpc', ok: false, detail: `${settings.rpcUrl}: ${(err as Error).message}` });
  }
  checks.push(...mcpDoctorChecks(settings, env));
  const allOk = checks.every((c) => c.ok);
  out.result({ ok: allOk, checks }, checks.map((c) => `${c.ok ? '✔' : '✘'} ${c.check.padEnd(8)} ${c.detail}`).join('\n'));
  return allOk ? EXIT.ok : EXIT.failure;
}

async function dispatch(argv: string[], io: CliIo): Promise<number | void> {
  const { values, positionals } = parse(argv);
  if (values.help || positionals.length === 0) {
    io.stdout.write(USAGE);
    return;
  }
  const settings = settingsFrom(values, io.env);
  const out = new Output(io, settings.json);
  const progress = new Progress(io.stderr, !settings.json);
  const [command, ...rest] = positionals;
  const ctx: CommandContext = {
    json: settings.json,
    result: (data, human) => out.result(data, human),
    progress: (text) => progress.update(text),
    client: (o) => makeClient(o.baseUrl ? { ...settings, apiUrl: o.baseUrl } : settings, io, progress, o.wallet),
    confirm: (question) => confirmOnTerminal(io.stdin, io.stderr, question),
  };
  const mandateContext = () => ({
    values,
    client: makeClient(settings, io, progress, true),
    clientFor: (apiUrl: string) => clientForApi({ apiUrl, rpcUrl: settings.rpcUrl, network: settings.network, signer: loadWallet(settings.walletFile) }),
    out,
  });
  try {
    switch (command) {
      case 'wallet':
        return await walletCommand(rest[0], values, settings, io, out);
      case 'health': {
        const health = await makeClient(settings, io, progress, false).health();
        return out.result(health, `${settings.apiUrl}: ${health.status} (v${health.version})`);
      }
      case 'pricing': {
        const p = await makeClient(settings, io, progress, false).pricing();
        return out.result(p, `card ${dollars(p.cardFee)} + load + ${p.topUpPercent}% of load; loads ${dollars(p.minAmount)}–${dollars(p.maxAmount)}\n${p.description}`);
      }
      case 'cards': {
        if (values.assigned) {
          const assigned = await makeClient(settings, io, progress, true).listAssignedCards();
          return out.result(
            assigned,
            assigned.cards.length
              ? `cards other wallets bought and named you owner of (you did not buy or accept them):\n${table([['card', 'name', 'last4', 'balance', 'status', 'created', 'bought by'], ...assigned.cards.map((c) => [...cardLine(c), c.agentAddress])])}`
              : 'no cards assigned to you by other wallets',
          );
        }
        const list = await makeClient(settings, io, progress, true).listCards();
        return out.result(list, list.cards.length ? table([['card', 'name', 'last4', 'balance', 'status', 'created'], ...list.cards.map(cardLine)]) : 'no cards yet: card402 card create --amount 25 --name "Ada" --email ada@example.com');
      }
      case 'card':
        if (rest[0] === 'session') return await sessionCommand({ args: rest.slice(1), values, env: io.env, stdin: io.stdin, out, client: (withWallet) => makeClient(settings, io, progress, withWallet) });
        return await cardCommand(rest, values, makeClient(settings, io, progress, true), out, io);
      case 'sandbox':
        return await sandboxCommand(makeClient(settings, io, progress, true), rest, values, out);
      case 'payment': {
        const payment = await makeClient(settings, io, progress, true).payment(requireArg(rest[0], 'payment id'));
        return out.result(payment, `payment ${payment.paymentId}: ${payment.status}`);
      }
      case 'doctor':
        return await doctor(settings, io.env, out);
      case 'mcp':
        return await mcpCommand(settings, io);
      case 'install':
        return installCommand(values, settings, io, out);
      case 'onboard':
        return await onboardCommand(values, settings, io, out);
      case 'request':
        return await requestCommand(rest, values, ctx);
      case 'approve':
        // One command for both kinds of approval link: a mandate's (…/mandates/md_…/approve) or a payment request's.
        if (rest[0] !== undefined && /\/mandates\/md_[^/?#]+\/approve\/?(?:[?#]|$)/.test(rest[0])) {
          return await mandateCommand(['approve', rest[0]], mandateContext());
        }
        return await approveCommand(rest[0], { yes: values.yes ?? false }, ctx);
      case 'reject':
        return await rejectCommand(rest[0], ctx);
      case 'mandate':
        return await mandateCommand(rest, mandateContext());
      default:
        throw new CliError(`unknown command ${command} (see card402 --help)`, EXIT.usage);
    }
  } finally {
    progress.done();
  }
}

function exitCodeFor(err: unknown): number {
  if (err instanceof CliError) return err.exitCode;
  if (err instanceof PaymentRefusedError) return EXIT.paymentRefused;
  if (err instanceof InsufficientBalanceError) return EXIT.insufficientBalance;
  if (err instanceof PaymentError) return EXIT.payment;
  if (err instanceof TimeoutError) return EXIT.timeout;
  if (err instanceof ApiError) return EXIT.api;
  return EXIT.failure;
}

/** Runs the CLI and returns its exit code; errors are one line (or a JSON object with --json). */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  try {
    return (await dispatch(argv, io)) ?? EXIT.ok;
  } catch (err) {
    const code = exitCodeFor(err);
    const known = err instanceof CliError || err instanceof Card402Error;
    const message = known ? (err as Error).message : `unexpected failure: ${err instanceof Error ? err.message : String(err)}`;
    if (argv.includes('--json')) {
      const extra = err instanceof ApiError ? { status: err.status, code: err.code } : err instanceof PaymentError ? err.details : {};
      io.stdout.write(terminalJson({ error: message, type: err instanceof Error ? err.name : 'Error', ...extra }) + '\n');
    } else {
      io.stderr.write(`card402: ${terminalLine(message.split('\n')[0]!)}\n`);
    }
    return code;
  }
}
