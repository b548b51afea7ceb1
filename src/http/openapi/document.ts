import type { Hono } from 'hono';
import { z } from 'zod';
import { ERROR_CODES, STATUS_BY_CODE, type ErrorCode } from '../kernel/errors.js';
import { routeDocOf, type HeaderDoc, type RouteDoc } from './route-doc.js';
import { paymentRequiredDocSchema, settlementResponseDocSchema } from './x402-schemas.js';

export const OPENAPI_VERSION = '3.1.0';

type JsonSchema = Record<string, unknown>;
export type OpenApiDocument = {
  openapi: string;
  info: { title: string; version: string; description: string };
  servers: Array<{ url: string }>;
  paths: Record<string, Record<string, unknown>>;
  components: Record<string, unknown>;
  tags: Array<{ name: string }>;
};

/** Every endpoint registered on an app (method + hono path), middleware (`ALL`, wildcards) left out. */
export function registeredEndpoints(app: Hono<any>): Array<{ method: string; path: string }> {
  const seen = new Map<string, { method: string; path: string }>();
  for (const r of app.routes) {
    if (r.method === 'ALL' || r.path.includes('*')) continue;
    seen.set(`${r.method} ${r.path}`, { method: r.method, path: r.path });
  }
  return [...seen.values()];
}

/** `/cards/:cardId` → `/cards/{cardId}` (a regex constraint `:id{…}` is dropped). */
export function openApiPath(honoPath: string): string {
  return honoPath.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, '{$1}');
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

/** Errors any route can answer with (the HTTP kernel's: body limit, parser, timeouts, the unexpected). */
const EVERY_ROUTE: ErrorCode[] = ['BAD_REQUEST', 'HEADERS_TOO_LARGE', 'REQUEST_TIMEOUT', 'METHOD_NOT_ALLOWED', 'INTERNAL_ERROR'];
const WITH_BODY: ErrorCode[] = ['INVALID_JSON', 'VALIDATION_ERROR', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'];
const WALLET: ErrorCode[] = ['UNAUTHORIZED', 'AUTH_MALFORMED', 'AUTH_SIGNATURE_INVALID', 'AUTH_EXPIRED', 'AUTH_REPLAYED', 'AUTH_RATE_LIMITED'];
const PAID: ErrorCode[] = ['INVALID_AMOUNT', 'CONFLICT', 'PAYMENT_IN_PROGRESS', 'PAYMENT_UNDER_REVIEW', 'FULFILMENT_FAILED', 'SERVICE_UNAVAILABLE'];

const WALLET_HEADERS: HeaderDoc[] = [
  { name: 'X-WALLET-AUTH-VERSION', description: '1 (ASG: `asgcard-auth:<timestamp>`) or 2 (request-bound: method, path and query, body hash, timestamp, nonce). Default 1.', schema: { type: 'string', enum: ['1', '2'] } },
  { name: 'X-WALLET-NONCE', description: 'Version 2 only: a single-use request nonce, 16-128 characters of [A-Za-z0-9_-].', schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{16,128}$' } },
  { name: 'X-WALLET-AUTH-MODE', description: '`raw` (ed25519 over the message) or `message` (SEP-53 style: over sha256("Stellar Signed Message:\\n" + message)).', schema: { type: 'string', enum: ['raw', 'message'] } },
];

const X402_REQUEST_HEADERS: HeaderDoc[] = [
  { name: 'PAYMENT-SIGNATURE', description: 'x402 v2: the base64 JSON PaymentPayload (an `exact` Stellar payment for one of the 402 `accepts`). Absent: the answer is the 402 challenge.' },
  { name: 'X-PAYMENT', description: 'The same payment under its v1 header name (ASG clients).' },
  { name: 'Idempotency-Key', description: 'Optional: 1-255 visible ASCII characters; a retry with the same key and body gets the first answer.' },
];

function headerParameters(headers: HeaderDoc[], requiredByDefault = false) {
  return headers.map((h) => ({ name: h.name, in: 'header', required: h.required ?? requiredByDefault, description: h.description, schema: h.schema ?? { type: 'string' } }));
}

function errorResponses(codes: ErrorCode[]): Record<string, unknown> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set(codes)) {
    const status = STATUS_BY_CODE[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: Record<string, unknown> = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    out[String(status)] = {
      description: list.join(', '),
      ...(list.some((c) => c.endsWith('RATE_LIMITED') || c === 'SERVICE_UNAVAILABLE' || c === 'PAYMENT_IN_PROGRESS')
        ? { headers: { 'Retry-After': { description: 'seconds to wait', schema: { type: 'integer' } } } }
        : {}),
      content: { 'application/json': { schema: { allOf: [{ $ref: '#/components/schemas/Error' }, { properties: { code: { enum: list } } }] } } },
    };
  }
  return out;
}

function operation(doc: RouteDoc, honoPath: string, method: string) {
  const parameters: unknown[] = [];
  for (const name of [...honoPath.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!)) {
    parameters.push({ name, in: 'path', required: true, description: doc.params?.[name] ?? name, schema: { type: 'string' } });
  }
  if (doc.query) {
    const q = jsonSchema(doc.query, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
    for (const [name, schema] of Object.entries(q.properties ?? {})) {
      parameters.push({ name, in: 'query', required: q.required?.includes(name) ?? false, schema });
    }
  }
  if (doc.auth === 'wallet') parameters.push(...headerParameters(WALLET_HEADERS));
  if (doc.auth === 'x402') parameters.push(...headerParameters(X402_REQUEST_HEADERS));
  parameters.push(...headerParameters(doc.headers ?? []));

  const responses: Record<string, unknown> = {};
  for (const [status, r] of Object.entries(doc.responses)) {
    const headers: Record<string, unknown> = Object.fromEntries((r.headers ?? []).map((h) => [h.name, { description: h.description, schema: h.schema ?? { type: 'string' } }]));
    if (doc.auth === 'x402' && Number(status) < 300) {
      headers['PAYMENT-RESPONSE'] = { description: 'base64 JSON settlement: `{success, transaction, network, payer}`', schema: { type: 'string', contentMediaType: 'application/json', contentEncoding: 'base64', contentSchema: jsonSchema(settlementResponseDocSchema, 'output') } };
    }
    responses[status] = {
      description: r.description,
      ...(Object.keys(headers).length ? { headers } : {}),
      ...(r.schema ? { content: { [r.contentType ?? 'application/json']: { schema: jsonSchema(r.schema, 'output') } } } : r.contentType ? { content: { [r.contentType]: { schema: { type: 'string' } } } } : {}),
    };
  }
  if (doc.auth === 'x402') {
    responses['402'] = {
      description: 'Payment required: the x402 challenge (also after a refused payment, with `error` and `reason`)',
      headers: { 'PAYMENT-REQUIRED': { description: 'the same PaymentRequired, base64 JSON', schema: { type: 'string' } } },
      content: { 'application/json': { schema: jsonSchema(paymentRequiredDocSchema, 'output') } },
    };
  }
  const codes: ErrorCode[] = [
    ...EVERY_ROUTE,
    ...(doc.body ? WITH_BODY : []),
    ...(doc.auth === 'wallet' ? WALLET : []),
    ...(doc.auth === 'x402' ? PAID : []),
    ...(doc.auth.startsWith('bearer:') ? (['UNAUTHORIZED'] as ErrorCode[]) : []),
    ...(doc.query ? (['VALIDATION_ERROR'] as ErrorCode[]) : []),
    ...(doc.errors ?? []),
  ];
  Object.assign(responses, errorResponses(codes));

  const security =
    doc.auth === 'wallet'
      ? [{ walletAddress: [], walletSignature: [], walletTimestamp: [] }]
      : doc.auth === 'bearer:facilitator'
        ? [{ facilitatorToken: [] }, {}]
        : doc.auth === 'bearer:metrics'
          ? [{ metricsToken: [] }, {}]
          : [];
  return {
    summary: doc.summary,
    ...(doc.description ? { description: doc.description } : {}),
    operationId: `${method.toLowerCase()}${openApiPath(honoPath).replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, ch: string | undefined) => (ch ? ch.toUpperCase() : ''))}`,
    tags: doc.tags,
    security,
    parameters,
    ...(doc.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(doc.body, 'input') } } } } : {}),
    responses,
  };
}

/**
 * The OpenAPI 3.1 document of an app, made from the `describeRoute` docs of the routes it has
 * registered (route-doc.ts). A registered route without one is left out here and fails
 * test/http/openapi.test.ts.
 */
export function buildOpenApiDocument(app: Hono<any>, info: { version: string; serverUrl: string }): OpenApiDocument {
  const paths: Record<string, Record<string, unknown>> = {};
  const tags = new Set<string>();
  for (const r of app.routes) {
    if (r.method === 'ALL') continue;
    const doc = routeDocOf(r.handler);
    if (!doc) continue;
    const path = openApiPath(r.path);
    const method = r.method.toLowerCase();
    paths[path] ??= {};
    paths[path]![method] = operation(doc, r.path, r.method);
    doc.tags.forEach((t) => tags.add(t));
  }
  return {
    openapi: OPENAPI_VERSION,
    info: {
      title: 'card402',
      version: info.version,
      description:
        'Virtual payment cards for AI agents, paid with x402 USDC on Stellar. Paid routes answer 402 with an x402 v2 challenge; ' +
        'pay it with an `exact` Stellar payment in PAYMENT-SIGNATURE. Card management is signed by the wallet that paid (X-WALLET-* headers). ' +
        'Errors are JSON `{error, code, ...}` with a code from the `ErrorCode` schema.',
    },
    servers: [{ url: info.serverUrl }],
    tags: [...tags].map((name) => ({ name })),
    paths,
    components: {
      schemas: {
        ErrorCode: {
          type: 'string',
          enum: [...ERROR_CODES],
          description: ERROR_CODES.map((c) => `${c}: HTTP ${STATUS_BY_CODE[c]}`).join('; '),
        },
        Error: {
          type: 'object',
          required: ['error', 'code'],
          properties: {
            error: { type: 'string', description: 'human-readable; never internals' },
            code: { $ref: '#/components/schemas/ErrorCode' },
            requestId: { type: 'string' },
            retryAfter: { type: 'integer' },
            reason: { type: 'string' },
            paymentId: { type: 'string' },
          },
          additionalProperties: true,
        },
      },
      securitySchemes: {
        walletAddress: { type: 'apiKey', in: 'header', name: 'X-WALLET-ADDRESS', description: 'the wallet (G...) that signs' },
        walletSignature: { type: 'apiKey', in: 'header', name: 'X-WALLET-SIGNATURE', description: 'base64 Ed25519 signature (64 bytes) of the auth message' },
        walletTimestamp: { type: 'apiKey', in: 'header', name: 'X-WALLET-TIMESTAMP', description: 'unix seconds, within WALLET_AUTH_MAX_SKEW_SECONDS (300) of server time' },
        facilitatorToken: { type: 'http', scheme: 'bearer', description: 'one of FACILITATOR_API_KEYS, when any are configured' },
        metricsToken: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN, when configured' },
      },
    },
  };
}
