import { randomUUID } from 'node:crypto';
import type { Keypair } from '@stellar/stellar-sdk';

/**
 * The wallet calls of ASG Card's published clients (SDK, CLI, MCP server), replayed as they make
 * them, with nothing of card402's own client code: `X-WALLET-ADDRESS`, `X-WALLET-SIGNATURE`,
 * `X-WALLET-TIMESTAMP`, the signature being Ed25519 over `asgcard-auth:<unix seconds>`, signed
 * once per second and re-used for every call in that second; paths as they send them (the CLI's
 * list has a trailing slash); `X-AGENT-NONCE` (a fresh UUID) on details. Like ASG's CLI wallet
 * client, every call carries `Content-Type: application/json`, and freeze/unfreeze are POSTs with no
 * body at all.
 */
export class AsgWalletClient {
  private signed?: { timestamp: number; signature: string };
  /** Every call made, for assertion messages. */
  readonly calls: string[] = [];

  constructor(
    private readonly baseUrl: string,
    private readonly wallet: Keypair,
    /** Unix milliseconds: the test's clock, so "the same second" is the test's to decide. */
    private readonly nowMs: () => number,
  ) {}

  listCards = () => this.call('GET', '/cards/');
  getCard = (cardId: string) => this.call('GET', `/cards/${cardId}`);
  getDetails = (cardId: string) => this.call('GET', `/cards/${cardId}/details`, { headers: { 'X-AGENT-NONCE': randomUUID() } });
  freeze = (cardId: string) => this.call('POST', `/cards/${cardId}/freeze`);
  unfreeze = (cardId: string) => this.call('POST', `/cards/${cardId}/unfreeze`);
  transactions = (cardId: string, page = 1, limit = 20) => this.call('GET', `/cards/${cardId}/transactions?page=${page}&limit=${limit}`);
  balance = (cardId: string) => this.call('GET', `/cards/${cardId}/balance`);

  private authHeaders(): Record<string, string> {
    const timestamp = Math.floor(this.nowMs() / 1000);
    if (this.signed?.timestamp !== timestamp) {
      const signature = this.wallet.sign(Buffer.from(`asgcard-auth:${timestamp}`, 'utf8')).toString('base64');
      this.signed = { timestamp, signature };
    }
    return {
      'X-WALLET-ADDRESS': this.wallet.publicKey(),
      'X-WALLET-SIGNATURE': this.signed.signature,
      'X-WALLET-TIMESTAMP': String(this.signed.timestamp),
    };
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  private async call(method: 'GET' | 'POST', path: string, extra: { headers?: Record<string, string>; json?: unknown } = {}): Promise<{ status: number; body: any }> {
    const headers: Record<string, string> = { 'Content-Type': 'application/json', ...this.authHeaders(), ...extra.headers };
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers,
      ...(extra.json !== undefined ? { body: JSON.stringify(extra.json) } : {}),
    });
    const body = await res.json();
    this.calls.push(`${method} ${path} → ${res.status}`);
    return { status: res.status, body };
  }
}
