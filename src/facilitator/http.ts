import type { PaymentPayload, PaymentRequirements } from '../protocol/x402.js';
import type { FetchLike } from '../stellar/rpc.js';
import type { Facilitator, SettleOutcome, VerifyOutcome } from './types.js';

const REQUEST_TIMEOUT_MS = 120_000;

/**
 * A facilitator reached over the standard x402 HTTP API (POST /verify, POST /settle,
 * GET /supported), for FACILITATOR_URL. Its signer addresses (from /supported) are still kept out
 * of payments by our own inspection. It cannot hand us a transaction hash before sending, so a
 * crash mid-settle leaves the payment `settling` for review rather than guessing.
 */
export class HttpFacilitator implements Facilitator {
  private signers: Promise<ReadonlySet<string>> | undefined;
  private readonly fetchFn: FetchLike;

  constructor(
    private readonly baseUrl: string,
    opts: { fetch?: FetchLike; headers?: Record<string, string> } = {},
  ) {
    this.fetchFn = opts.fetch ?? ((input, init) => fetch(input, init));
    this.headers = { 'content-type': 'application/json', ...opts.headers };
  }

  private readonly headers: Record<string, string>;

  private async post<T>(path: string, body: unknown): Promise<T> {
    const response = await this.fetchFn(`${this.baseUrl}${path}`, {
      method: 'POST',
      headers: this.headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await response.text();
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new Error(`facilitator ${path} answered HTTP ${response.status} without JSON`);
    }
  }

  addresses(): Promise<ReadonlySet<string>> {
    this.signers ??= (async () => {
      const response = await this.fetchFn(`${this.baseUrl}/supported`, { method: 'GET', headers: this.headers });
      const json = (await response.json()) as { signers?: Record<string, string[]> };
      return new Set(Object.values(json.signers ?? {}).flat());
    })().catch((err) => {
      this.signers = undefined;
      throw err;
    });
    return this.signers;
  }

  async verify(payload: PaymentPayload, requirements: PaymentRequirements): Promise<VerifyOutcome> {
    const result = await this.post<{ isValid?: boolean; invalidReason?: string; invalidMessage?: string; payer?: string }>('/verify', {
      x402Version: payload.x402Version,
      paymentPayload: payload,
      paymentRequirements: requirements,
    });
    if (result.isValid === true && typeof result.payer === 'string') return { ok: true, payer: result.payer };
    // The detailed reason where the facilitator gives one (card402's own facilitator does), else its standard code.
    return { ok: false, reason: detailed(result.invalidMessage) ?? result.invalidReason ?? 'facilitator_rejected', ...(result.payer ? { payer: result.payer } : {}) };
  }

  async settle(payload: PaymentPayload, requirements: PaymentRequirements): Promise<SettleOutcome> {
    let result: { success?: boolean; transaction?: string; errorReason?: string; errorMessage?: string };
    try {
      result = await this.post('/settle', { x402Version: payload.x402Version, paymentPayload: payload, paymentRequirements: requirements });
    } catch {
      // No answer: it may have been sent.
      return { status: 'pending', reason: 'facilitator_unreachable' };
    }
    if (result.success === true && result.transaction) return { status: 'success', txHash: result.transaction };
    // A failure that carries a transaction hash was submitted: its fate is not ours to guess.
    if (result.transaction) return { status: 'pending', txHash: result.transaction, reason: detailed(result.errorMessage) ?? result.errorReason ?? 'facilitator_failed' };
    return { status: 'failed', reason: detailed(result.errorMessage) ?? result.errorReason ?? 'facilitator_failed' };
  }
}

/** A facilitator's detailed reason, when it is a reason code (card402's own answer) rather than free text. */
function detailed(message: string | undefined): string | undefined {
  return message !== undefined && /^[a-z0-9_:]{1,80}$/.test(message) ? message : undefined;
}
