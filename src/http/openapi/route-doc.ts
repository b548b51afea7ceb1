import type { MiddlewareHandler } from 'hono';
import type { z } from 'zod';
import type { ErrorCode } from '../kernel/errors.js';

/**
 * How a route authenticates: `wallet` (Ed25519 wallet headers, DESIGN §6), `x402` (a paid route:
 * 402 challenge, then PAYMENT-SIGNATURE), `bearer:<scheme>` (a token from configuration), or none.
 */
export type RouteAuth = 'none' | 'wallet' | 'x402' | 'bearer:facilitator' | 'bearer:metrics';

export interface HeaderDoc {
  name: string;
  description: string;
  required?: boolean;
  /** A JSON Schema for the value (default: a string). */
  schema?: Record<string, unknown>;
}

export interface ResponseDoc {
  description: string;
  /** The body's zod schema (the one the route answers with); absent with a contentType: not JSON. */
  schema?: z.ZodType;
  contentType?: string;
  headers?: HeaderDoc[];
}

/** One operation of the OpenAPI document, written next to the route it describes. */
export interface RouteDoc {
  summary: string;
  description?: string;
  tags: readonly string[];
  auth: RouteAuth;
  /** Descriptions of the path parameters (`:cardId` → `cardId`). */
  params?: Record<string, string>;
  query?: z.ZodType;
  headers?: HeaderDoc[];
  body?: z.ZodType;
  /** Success responses by status; errors are listed by code below. */
  responses: Record<number, ResponseDoc>;
  /** The error codes this route can answer with besides those every route can (see document.ts). */
  errors?: ErrorCode[];
}

export const ROUTE_DOC = Symbol('card402.routeDoc');

export type DocumentedHandler = MiddlewareHandler & { [ROUTE_DOC]: RouteDoc };

/**
 * The OpenAPI description of a route, given as its first handler:
 *
 *     routes.get('/cards/:cardId', describeRoute({ summary: …, responses: … }), authRead, async (c) => …)
 *
 * At run time it only passes the request on. `buildOpenApiDocument` finds it in `app.routes`, so the
 * document is made from the routes actually registered, and test/http/openapi.test.ts fails for a
 * registered route without one.
 */
export function describeRoute(doc: RouteDoc): DocumentedHandler {
  const handler: MiddlewareHandler = async function describedRoute(_c, next) {
    await next();
  };
  return Object.assign(handler, { [ROUTE_DOC]: doc });
}

export function routeDocOf(handler: unknown): RouteDoc | undefined {
  return typeof handler === 'function' ? (handler as Partial<DocumentedHandler>)[ROUTE_DOC] : undefined;
}
