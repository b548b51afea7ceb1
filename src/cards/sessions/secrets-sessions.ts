import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../../clock.js';
import type { Db } from '../../db/open.js';
import { immediateTransaction } from '../../db/transaction.js';
import { DomainError } from '../../errors.js';
import { CardDataError, type CardDataCipher } from '../card-data.js';
import type { CardDataGate, GateOutcome } from '../card-data-gate.js';
import { findSecretsSession, insertSecretsSession, transitionSecretsSession } from './repository.js';
import { effectiveSecretsSessionStatus } from './state.js';

/** machines.cash's secret key: 16 bytes (AES-128), hex. */
export const SECRETS_KEY_BYTES = 16;
const GCM_IV_BYTES = 12;
export const SECRETS_SESSION_ID = /^ss_[0-9a-f]{32}$/;

export interface EncryptedField {
  /** base64 of the AES-128-GCM ciphertext followed by its 16-byte tag. */
  data: string;
  /** base64, 12 bytes. */
  iv: string;
}

/** What POST /cards/:cardId/secrets answers: no plaintext number or CVC. */
export interface SecretsAnswer {
  encryptedPan: EncryptedField;
  encryptedCvc: EncryptedField;
  expirationMonth: number;
  expirationYear: number;
  last4: string;
}

export interface SecretsRequest {
  wallet: string;
  cardId: string;
  sessionId: string;
  ip: string;
  userAgent: string;
}

const keyLabel = (sessionId: string) => `secrets-session-key:${sessionId}`;
const notFound = () => new DomainError('secrets_session_not_found', 'secrets session not found');

function encryptField(key: Buffer, text: string): EncryptedField {
  const iv = randomBytes(GCM_IV_BYTES);
  const cipher = createCipheriv('aes-128-gcm', key, iv);
  const data = Buffer.concat([cipher.update(text, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return { data: data.toString('base64'), iv: iv.toString('base64') };
}

/**
 * Secrets sessions (machines.cash's shapes, issue #14). A wallet asks for a session and gets a
 * 16-byte key; with the session id it then asks for one card's secrets and gets the number and CVC
 * encrypted under that key (AES-128-GCM), never in plain text. Single use, short TTL.
 *
 * The key must exist server-side between the two calls. It is kept only encrypted (the card data
 * key, AES-256-GCM, the session id as associated data), and only as long as it is needed: the
 * session's one use, its expiry (the sweeper) or a refusal that ends it wipes it, so a database
 * copied later holds no key that opens an answer already sent.
 */
export class SecretsSessionService {
  constructor(
    private readonly deps: { db: Db; clock: Clock; cipher: CardDataCipher; gate: CardDataGate; ttlMs: number; purgeSpentSlots: (nowMs: number) => Promise<void> },
  ) {}

  async create(wallet: string): Promise<{ sessionId: string; secretKey: string; expiresAtMs: number }> {
    const { db, clock, cipher, ttlMs } = this.deps;
    const nowMs = clock.nowMs();
    const sessionId = `ss_${randomBytes(16).toString('hex')}`;
    const key = randomBytes(SECRETS_KEY_BYTES);
    const expiresAtMs = nowMs + ttlMs;
    await insertSecretsSession(db, { id: sessionId, wallet, keyCiphertext: cipher.encryptBytes(keyLabel(sessionId), key), expiresAtMs, nowMs });
    const secretKey = key.toString('hex');
    key.fill(0);
    return { sessionId, secretKey, expiresAtMs };
  }

  /**
   * Through the card data gate (party, revocation, active card, hourly limit, audit with path
   * `secrets`); its path check is the session: the caller's own (another wallet's is not found),
   * active and unexpired. Granted, the session becomes `used` on this card and its key is wiped, in
   * the same IMMEDIATE transaction: a session opens one card, once.
   */
  async reveal(req: SecretsRequest): Promise<SecretsAnswer> {
    const { db, clock, cipher, gate } = this.deps;
    const nowMs = clock.nowMs();
    await this.deps.purgeSpentSlots(nowMs);
    let key: Buffer | undefined;
    const outcome = await immediateTransaction<GateOutcome>(db, (trx) =>
      gate.open(trx, { cardId: req.cardId, wallet: req.wallet, path: 'secrets', ip: req.ip, userAgent: req.userAgent, nowMs }, {
        slotHash: createHash('sha256').update(`card402:secrets-slot:${req.sessionId}`).digest('hex'),
        check: async () => {
          const session = SECRETS_SESSION_ID.test(req.sessionId) ? await findSecretsSession(trx, req.sessionId) : undefined;
          if (!session || session.wallet_address !== req.wallet) return { outcome: 'session_unusable', error: notFound() };
          const status = effectiveSecretsSessionStatus(session, nowMs);
          if (status !== 'active' || !session.key_ciphertext) {
            return { outcome: 'session_unusable', error: new DomainError('secrets_session_not_usable', `the secrets session is ${status}`, { status }) };
          }
          try {
            key = cipher.decryptBytes(keyLabel(session.id), session.key_ciphertext);
          } catch (err) {
            return { outcome: 'error', error: err instanceof CardDataError ? err : new CardDataError('secrets session key could not be decrypted') };
          }
          return undefined;
        },
        onGranted: async (card) => {
          const used = await transitionSecretsSession(trx, req.sessionId, { from: 'active', to: 'used', cardId: card.id, nowMs });
          if (!used) throw new Error(`secrets session ${req.sessionId} changed during its use`);
        },
      }),
    );
    try {
      if ('error' in outcome) throw outcome.error;
      const { details } = outcome;
      return {
        encryptedPan: encryptField(key!, details.cardNumber),
        encryptedCvc: encryptField(key!, details.cvv),
        expirationMonth: details.expiryMonth,
        expirationYear: details.expiryYear,
        last4: details.cardNumber.slice(-4),
      };
    } finally {
      key?.fill(0);
    }
  }
}
