/**
 * One card402 API process for the wallet benchmark: the production createApp() over a SQLite file,
 * with the signature verifier named on the command line. Prints `ready <port>` when listening.
 *
 *   tsx bench/wallet/server.ts <node|tweetnacl> <sqlite file>
 * Env: CARD_DATA_KEY (hex), CARD_SESSION_TOKEN_SECRET (hex: the runner signs the sessions it seeds)
 * and the usual card402 variables (limits, LOG_LEVEL).
 */
import { Keypair } from '@stellar/stellar-sdk';
import { createApp } from '../../src/app.js';
import { CardDataCipher } from '../../src/cards/card-data.js';
import { RedeemTokens, loadRedeemTokenSecrets } from '../../src/cards/sessions/redeem-tokens.js';
import { systemClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { migrateToLatest, openDatabase } from '../../src/db/open.js';
import { serveHttp } from '../../src/http/kernel/serve.js';
import { benchLogger } from '../logger.js';
import { createVerifier, type VerifierName } from './tweetnacl-verifier.js';

const [verifierName, dbFile] = process.argv.slice(2);
if ((verifierName !== 'node' && verifierName !== 'tweetnacl') || !dbFile) {
  process.stderr.write('usage: server.ts <node|tweetnacl> <sqlite file>\n');
  process.exit(2);
}
const config = loadConfig(process.env);
if (!config.cardDataKey) throw new Error('CARD_DATA_KEY is required');
const db = openDatabase(dbFile);
await migrateToLatest(db);
const logger = await benchLogger(config.logLevel);
const app = createApp({
  config,
  db,
  clock: systemClock,
  logger,
  redeemTokens: new RedeemTokens(loadRedeemTokenSecrets(config, logger)),
  paymentTerms: { network: config.stellar.network, asset: config.stellar.usdcContract, payTo: Keypair.random().publicKey(), maxTimeoutSeconds: 60 },
  cardCipher: new CardDataCipher(config.cardDataKey),
  signatureVerifier: createVerifier(verifierName as VerifierName),
});
const { server, port } = await serveHttp(app.fetch, { port: 0, hostname: '127.0.0.1' });
process.stdout.write(`ready ${port}\n`);
process.on('SIGTERM', () => server.close(() => db.destroy().then(() => process.exit(0))));
