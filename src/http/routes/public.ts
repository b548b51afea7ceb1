import { Hono } from 'hono';
import { unixSeconds, type Clock } from '../../clock.js';
import type { Db } from '../../db/open.js';
import {
  CARD_FEE_CENTS,
  MAX_LOAD_CENTS,
  MIN_LOAD_CENTS,
  TOP_UP_FEE_BASIS_POINTS,
  priceCardCreation,
  priceCardFunding,
  type Price,
} from '../../protocol/money/pricing.js';
import { centsToDollarNumber } from '../../protocol/money/units.js';
import { VERSION } from '../../version.js';
import { countPaymentsInStatus } from '../../payments/repository.js';
import { REVIEW_STATUSES } from '../../payments/state.js';
import { ROUTER_OPTIONS, type AppEnv } from '../kernel/env.js';
import { healthSchema, pricingSchema } from '../../protocol/api.js';
import { describeRoute } from '../openapi/route-doc.js';
import { supportedDocSchema } from '../openapi/x402-schemas.js';

/** What this server accepts as payment; served by /supported and used to build 402 challenges. */
export interface PaymentTerms {
  network: string;
  asset: string;
  payTo: string;
  maxTimeoutSeconds: number;
}

/** What /health reports of the channel pool (ChannelPool and ChannelFunding together have it). */
export interface ChannelPoolHealth {
  pool: { readonly size: number; readonly idleCount: number };
  funding: { readonly lowCount: number };
}

const EXAMPLE_LOADS = ['0', '25', '100', '500'];

function priceView(price: Price) {
  return {
    loadAmount: centsToDollarNumber(price.loadCents),
    cardFee: centsToDollarNumber(price.cardFeeCents),
    topUpFee: centsToDollarNumber(price.topUpFeeCents),
    totalCost: centsToDollarNumber(price.totalCents),
    totalAtomic: price.totalAtomic.toString(),
  };
}

function pricingBody() {
  const tiers = EXAMPLE_LOADS.map((amount) => {
    const result = priceCardCreation(amount);
    if (!result.ok) throw new Error(`example load ${amount} is not priceable`);
    return { ...priceView(result.price), endpoint: `/cards/create/tier/${amount}` };
  });
  const fundExample = priceCardFunding('200');
  if (!fundExample.ok) throw new Error('example top-up is not priceable');
  return {
    cardFee: centsToDollarNumber(CARD_FEE_CENTS),
    topUpPercent: TOP_UP_FEE_BASIS_POINTS / 100,
    minAmount: centsToDollarNumber(MIN_LOAD_CENTS),
    maxAmount: centsToDollarNumber(MAX_LOAD_CENTS),
    currency: 'USD',
    asset: 'USDC',
    // Integer forms for clients that refuse to do money in floats (as we do).
    cardFeeCents: CARD_FEE_CENTS,
    topUpFeeBasisPoints: TOP_UP_FEE_BASIS_POINTS,
    minAmountCents: MIN_LOAD_CENTS,
    maxAmountCents: MAX_LOAD_CENTS,
    description:
      `Card creation costs $${CARD_FEE_CENTS / 100} plus the initial load plus ${TOP_UP_FEE_BASIS_POINTS / 100}% of the load ` +
      `(load 0 for a card only, otherwise $${MIN_LOAD_CENTS / 100}-$${MAX_LOAD_CENTS / 100}). ` +
      `Top-up costs the amount plus ${TOP_UP_FEE_BASIS_POINTS / 100}%. Fees round half-up to the cent. Paid in USDC on Stellar via x402.`,
    tiers,
    topUpExample: { ...priceView(fundExample.price), endpoint: '/cards/fund/tier/200' },
  };
}

export function publicRoutes(deps: { db: Db; clock: Clock; paymentTerms: PaymentTerms; channels?: ChannelPoolHealth | undefined }) {
  const routes = new Hono<AppEnv>(ROUTER_OPTIONS);
  const pricing = pricingBody();

  routes.get('/health', describeRoute({
    summary: 'Health', tags: ['public'], auth: 'none',
    responses: { 200: { description: 'up; paymentsNeedingReview counts payments held for a person; channels: the channel pool as this instance sees it', schema: healthSchema } },
    errors: ['SERVICE_UNAVAILABLE'],
  }), async (c) => {
    const timestamp = new Date(deps.clock.nowMs()).toISOString();
    try {
      // Payments whose fate the ledger can no longer tell wait for a person (docs/ARCHITECTURE.md).
      const paymentsNeedingReview = await countPaymentsInStatus(deps.db, REVIEW_STATUSES);
      // This instance's view of the channel pool: counts only, never an address or a key.
      const pool = deps.channels?.pool;
      const channels = pool
        ? { total: pool.size, available: pool.idleCount, leased: pool.size - pool.idleCount, low: deps.channels!.funding.lowCount }
        : undefined;
      return c.json({ status: 'ok', timestamp, version: VERSION, unixTime: unixSeconds(deps.clock), paymentsNeedingReview, ...(channels ? { channels } : {}) });
    } catch {
      return c.json({ status: 'degraded', timestamp, version: VERSION, error: 'database unavailable', code: 'SERVICE_UNAVAILABLE' }, 503);
    }
  });
  const pricingDoc = (summary: string) => describeRoute({ summary, tags: ['public'], auth: 'none', responses: { 200: { description: 'fees, limits and example tiers', schema: pricingSchema } } });
  routes.get('/pricing', pricingDoc('Pricing'), (c) => c.json(pricing));
  routes.get('/cards/tiers', pricingDoc('Pricing (ASG path)'), (c) => c.json(pricing));
  routes.get('/supported', describeRoute({
    summary: 'The x402 payment kinds this server accepts', tags: ['public'], auth: 'none',
    responses: { 200: { description: 'scheme, network, asset, payTo', schema: supportedDocSchema } },
  }), (c) =>
    c.json({
      kinds: [
        {
          x402Version: 2,
          scheme: 'exact',
          network: deps.paymentTerms.network,
          asset: deps.paymentTerms.asset,
          payTo: deps.paymentTerms.payTo,
          maxTimeoutSeconds: deps.paymentTerms.maxTimeoutSeconds,
          extra: { areFeesSponsored: true },
        },
      ],
    }),
  );
  return routes;
}
