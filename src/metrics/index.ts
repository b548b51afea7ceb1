import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Seconds buckets for HTTP latency: most requests are milliseconds, paid ones wait for a ledger. */
const HTTP_SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Seconds buckets for settlement (submit → success): a few ledgers of 5 s each. */
const SETTLEMENT_SECONDS_BUCKETS = [0.5, 1, 2, 5, 7.5, 10, 15, 20, 30, 60, 120];

/** What a channel pool shows (ChannelPool has both). */
export interface ChannelPoolView {
  readonly size: number;
  readonly idleCount: number;
}

export type PaymentCount = { kind: string; status: string; count: number };

/**
 * card402's Prometheus metrics, one registry per app (never prom-client's global one, so tests and
 * several apps in one process never share counters). Components get it injected and call the
 * methods below; none of them knows prom-client. No label ever holds a card id, a wallet, an
 * amount or anything else of a single request: labels are route templates, statuses and the
 * closed sets of reasons and kinds.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly httpRequests = new Counter({
    name: 'card402_http_requests_total',
    help: 'HTTP requests by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  private readonly httpSeconds = new Histogram({
    name: 'card402_http_request_duration_seconds',
    help: 'HTTP request latency by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: HTTP_SECONDS_BUCKETS,
    registers: [this.registry],
  });
  private readonly settlementSeconds = new Histogram({
    name: 'card402_settlement_duration_seconds',
    help: 'Time from the first settlement envelope being submitted to the transaction seen successful',
    buckets: SETTLEMENT_SECONDS_BUCKETS,
    registers: [this.registry],
  });
  private readonly settlements = new Counter({
    name: 'card402_settlements_total',
    help: "Settlements of card402's own payments by outcome (success, failed, pending: may still land)",
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  private readonly refunds = new Counter({
    name: 'card402_refunds_total',
    help: 'On-chain refunds of paid but unfulfillable payments: sent, and seen landed',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  private readonly details = new Counter({
    name: 'card402_card_details_reads_total',
    help: 'Card details requests by outcome: granted, or the reason they were refused',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  private readonly walletAuthFailures = new Counter({
    name: 'card402_wallet_auth_failures_total',
    help: 'Refused wallet-signed requests by error code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  private readonly pools: ChannelPoolView[] = [];
  private paymentCounts: (() => Promise<PaymentCount[]>) | undefined;

  constructor() {
    const pools = this.pools;
    new Gauge({
      name: 'card402_channels',
      help: 'Channel accounts by state: available (idle) or leased (a settlement in flight or unresolved)',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        const size = pools.reduce((n, p) => n + p.size, 0);
        const idle = pools.reduce((n, p) => n + p.idleCount, 0);
        this.set({ state: 'available' }, idle);
        this.set({ state: 'leased' }, size - idle);
      },
    });
    const counts = () => this.paymentCounts;
    new Gauge({
      name: 'card402_payments',
      help: 'Payments in the database by kind and status (read at scrape time)',
      labelNames: ['kind', 'status'] as const,
      registers: [this.registry],
      async collect() {
        const read = counts();
        if (!read) return;
        this.reset();
        for (const row of await read()) this.set({ kind: row.kind, status: row.status }, row.count);
      },
    });
  }

  httpRequest(method: string, route: string, status: number, seconds: number): void {
    const labels = { method, route, status: String(status) };
    this.httpRequests.inc(labels);
    this.httpSeconds.observe(labels, seconds);
  }

  settlement(outcome: 'success' | 'failed' | 'pending', submitToSuccessSeconds?: number): void {
    this.settlements.inc({ outcome });
    if (outcome === 'success' && submitToSuccessSeconds !== undefined) this.settlementSeconds.observe(submitToSuccessSeconds);
  }

  refund(outcome: 'sent' | 'landed'): void {
    this.refunds.inc({ outcome });
  }

  detailsRead(outcome: string): void {
    this.details.inc({ outcome });
  }

  walletAuthFailure(code: string): void {
    this.walletAuthFailures.inc({ code });
  }

  watchChannelPool(pool: ChannelPoolView): void {
    this.pools.push(pool);
  }

  /** Where the payments gauge reads its counts at scrape time (the payments table). */
  watchPayments(read: () => Promise<PaymentCount[]>): void {
    this.paymentCounts = read;
  }

  /** The exposition text, and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
