import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Hono } from 'hono';
import { ROUTER_OPTIONS, type AppEnv } from '../kernel/env.js';
import { AppError } from '../kernel/errors.js';
import { buildOpenApiDocument, type OpenApiDocument } from '../openapi/document.js';
import { describeRoute } from '../openapi/route-doc.js';

/** The files of swagger-ui-dist the page loads, all served from here: no CDN, nothing fetched elsewhere. */
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
};

const INIT_JS = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true, tryItOutEnabled: false });
});
`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>card402 API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/init.js"></script>
</body>
</html>
`;

/** The page may load only its own scripts and styles and fetch only /openapi.json (Swagger UI sets inline styles and data: icons). */
const DOCS_CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

let assetDir: string | undefined;
const assetCache = new Map<string, Buffer>();
function asset(name: string): Buffer {
  let cached = assetCache.get(name);
  if (!cached) {
    assetDir ??= path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
    cached = readFileSync(path.join(assetDir, name));
    assetCache.set(name, cached);
  }
  return cached;
}

/**
 * GET /openapi.json (the OpenAPI 3.1 document, made once from the app's registered routes and their
 * `describeRoute` docs) and GET /docs (Swagger UI from swagger-ui-dist, served from here).
 */
export function docsRoutes(deps: { app: () => Hono<any>; version: string; serverUrl: string }): Hono<AppEnv> {
  const routes = new Hono<AppEnv>(ROUTER_OPTIONS);
  let document: OpenApiDocument | undefined;

  routes.get('/openapi.json', describeRoute({
    summary: 'This OpenAPI 3.1 document', tags: ['docs'], auth: 'none',
    responses: { 200: { description: 'OpenAPI 3.1', contentType: 'application/json' } },
  }), (c) => {
    document ??= buildOpenApiDocument(deps.app(), { version: deps.version, serverUrl: deps.serverUrl });
    return c.json(document);
  });

  routes.get('/docs', describeRoute({
    summary: 'API reference page', tags: ['docs'], auth: 'none',
    responses: { 200: { description: 'HTML (Swagger UI)', contentType: 'text/html' } },
  }), (c) => {
    c.header('Content-Security-Policy', DOCS_CSP);
    return c.html(PAGE);
  });

  routes.get('/docs/assets/:file', describeRoute({
    summary: "The docs page's scripts and styles", tags: ['docs'], auth: 'none', params: { file: 'swagger-ui.css, swagger-ui-bundle.js or init.js' },
    responses: { 200: { description: 'the file', contentType: 'text/javascript' } }, errors: ['NOT_FOUND'],
  }), (c) => {
    const file = c.req.param('file');
    // Public, immutable for a given version: cacheable, unlike every API answer.
    c.header('Cache-Control', 'public, max-age=3600');
    if (file === 'init.js') return c.body(INIT_JS, 200, { 'Content-Type': 'text/javascript; charset=utf-8' });
    const type = ASSETS[file];
    if (!type) throw new AppError('NOT_FOUND', 'no such asset');
    return c.body(new Uint8Array(asset(file)), 200, { 'Content-Type': type });
  });
  return routes;
}
