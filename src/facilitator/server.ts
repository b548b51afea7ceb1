import { x402ErrorCode } from '../x402/error-codes.js';
import { Hono } from 'hono';
import { z } from 'zod';
import { paymentPayloadSchema, type PaymentRequirements } from '../protocol/x402.js';
import type { Facilitator } from './types.js';

const requirementsSchema = z.object({
  scheme: z.literal('exact'),
  network: z.string(),
  amount: z.string().regex(/^\d{1,38}$/),
  asset: z.string(),
  payTo: z.string(),
  maxTimeoutSeconds: z.number().int().positive(),
  extra: z.object({ areFeesSponsored: z.literal(true) }).loose(),
});

const requestSchema = z.object({
  x402Version: z.number(),
  paymentPayload: paymentPayloadSchema,
  paymentRequirements: requirementsSchema,
});

/**
 * The standard x402 facilitator HTTP API (GET /supported, POST /verify, POST /settle) over a
 * facilitator — ours, so another resource server (or a second card402 with FACILITATOR_URL) can
 * use it. /settle verifies independently and never reports "failed" for a transaction that may
 * still land: that is `success: false` with the transaction hash and `settlement_pending`.
 */
export function createFacilitatorApp(facilitator: Facilitator, opts: { network: string }) {
  const app = new Hono();

  app.get('/supported', async (c) =>
    c.json({
      kinds: [{ x402Version: 2, scheme: 'exact', network: opts.network, extra: { areFeesSponsored: true } }],
      extensions: [],
      signers: { 'stellar:*': [...(await facilitator.addresses())] },
    }),
  );

  const parse = async (body: unknown) => {
    const parsed = requestSchema.safeParse(body);
    return parsed.success ? parsed.data : undefined;
  };

  app.post('/verify', async (c) => {
    const request = await parse(await c.req.json().catch(() => undefined));
    if (!request) return c.json(invalid('invalid_request'), 400);
    const result = await facilitator.verify(request.paymentPayload, request.paymentRequirements as PaymentRequirements);
    return c.json(result.ok ? { isValid: true, payer: result.payer } : { ...invalid(result.reason), ...(result.payer ? { payer: result.payer } : {}) });
  });

  app.post('/settle', async (c) => {
    const request = await parse(await c.req.json().catch(() => undefined));
    if (!request) return c.json({ ...failed('invalid_request'), transaction: '', network: '' }, 400);
    const requirements = request.paymentRequirements as PaymentRequirements;
    const verified = await facilitator.verify(request.paymentPayload, requirements);
    if (!verified.ok) {
      return c.json({ ...failed(verified.reason), transaction: '', network: requirements.network, ...(verified.payer ? { payer: verified.payer } : {}) });
    }
    const outcome = await facilitator.settle(request.paymentPayload, requirements, { verified: verified.handle });
    const base = { network: requirements.network, payer: verified.payer };
    if (outcome.status === 'success') return c.json({ success: true, transaction: outcome.txHash, ...base });
    if (outcome.status === 'pending') return c.json({ ...failed('settlement_pending'), transaction: outcome.txHash ?? '', ...base });
    return c.json({ ...failed(outcome.reason), transaction: outcome.txHash ?? '', ...base });
  });

  return app;
}

/** A /verify refusal: the standard x402 code, with our detailed reason beside it. */
function invalid(reason: string) {
  return { isValid: false, invalidReason: x402ErrorCode(reason), invalidMessage: reason };
}

/** A /settle failure: the standard x402 code, with our detailed reason beside it. */
function failed(reason: string) {
  return { success: false, errorReason: x402ErrorCode(reason), errorMessage: reason };
}
