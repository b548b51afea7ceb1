/**
 * Which methods a path is served with, for 405 answers: a request for a known path with a method
 * it does not take is a client mistake worth naming (with `Allow`), not a missing resource.
 */
export type AllowedMethods = (path: string) => string[];

/** Hono route paths use `:name` segments only (no regex constraints, no wildcards) in this app. */
function pattern(routePath: string): RegExp {
  const segments = routePath.split('/').map((s) => (s.startsWith(':') ? '[^/]+' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  return new RegExp(`^${segments.join('/')}$`);
}

/** Built from hono's `app.routes`; middleware (method ALL) is not a route. */
export function allowedMethodsOf(routes: readonly { method: string; path: string }[]): AllowedMethods {
  const byPattern = new Map<string, { re: RegExp; methods: Set<string> }>();
  for (const r of routes) {
    if (r.method === 'ALL' || r.path.includes('*')) continue;
    const entry = byPattern.get(r.path) ?? { re: pattern(r.path), methods: new Set<string>() };
    entry.methods.add(r.method);
    byPattern.set(r.path, entry);
  }
  const entries = [...byPattern.values()];
  return (path) => {
    const methods = new Set<string>();
    for (const e of entries) if (e.re.test(path)) for (const m of e.methods) methods.add(m);
    return [...methods].sort();
  };
}
