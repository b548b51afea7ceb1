import type { Context } from 'hono';
import type { z } from 'zod';
import { AppError } from './errors.js';

/**
 * Reads the raw body once (hono caches it, so signature checks can hash the same bytes), parses
 * it as JSON and validates it. Malformed JSON and schema failures are 400s with a clear message.
 */
export async function readJsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  const text = await c.req.text();
  let value: unknown;
  if (text.trim() !== '') {
    try {
      value = JSON.parse(text);
    } catch {
      throw new AppError('INVALID_JSON', 'request body is not valid JSON');
    }
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
    const summary = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
    throw new AppError('VALIDATION_ERROR', `invalid request body: ${summary}`, { extra: { issues } });
  }
  return parsed.data;
}
