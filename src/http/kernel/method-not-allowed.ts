import type { Hono, MiddlewareHandler } from 'hono';
import { methodNotAllowed as honoMethodNotAllowed } from 'hono/method-not-allowed';
import type { AppEnv } from './env.js';
import { AppError } from './errors.js';

/**
 * A request for a known path with a method it does not take is a client mistake worth naming
 * (405 with `Allow`), not a missing resource. hono's middleware finds the methods from the app's
 * routes; the answer is thrown so the one error mapper builds it like every other error. `Allow`
 * lists the registered methods only, sorted, as before: hono adds HEAD for every GET route, but
 * HEAD is not served everywhere (GET /cards/:id/details refuses it).
 */
export function methodNotAllowed<E extends AppEnv>(app: Hono<E>): MiddlewareHandler<E> {
  return honoMethodNotAllowed<E>({
    app,
    onMethodNotAllowed: (c, methods) => {
      const allow = methods.filter((m) => m !== 'HEAD').sort().join(', ');
      throw new AppError('METHOD_NOT_ALLOWED', `${c.req.path} is served with ${allow}, not ${c.req.method}`, { headers: { Allow: allow } });
    },
  });
}
