import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The files the approval page loads, served by card402 itself (no CDN, no front-end build): the
 * page's own script and style from this folder, and the browser bundles that npm packages ship
 * (stellar-sdk's minimal UMD build, freighter-api's UMD build), read from node_modules.
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** The root folder of an installed package (its entry resolved, then up to its package.json). */
function packageRoot(name: string): string {
  let dir = path.dirname(require.resolve(name));
  for (;;) {
    try {
      const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (manifest.name === name) return dir;
    } catch {
      // no package.json here: keep going up
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find the folder of package ${name}`);
    dir = parent;
  }
}

export interface StaticFile {
  contentType: string;
  load(): Buffer;
}

const JS = 'text/javascript; charset=utf-8';

/** By public name, under /approve/assets/. */
export const APPROVAL_ASSETS: Readonly<Record<string, StaticFile>> = {
  'approve.js': { contentType: JS, load: () => readFileSync(path.join(here, 'approve.js')) },
  'icon.svg': { contentType: 'image/svg+xml', load: () => readFileSync(path.join(here, 'icon.svg')) },
  'approve.css': { contentType: 'text/css; charset=utf-8', load: () => readFileSync(path.join(here, 'approve.css')) },
  'stellar-sdk.js': { contentType: JS, load: () => readFileSync(path.join(packageRoot('@stellar/stellar-sdk'), 'dist', 'stellar-sdk-minimal.min.js')) },
  'freighter-api.js': { contentType: JS, load: () => readFileSync(path.join(packageRoot('@stellar/freighter-api'), 'build', 'index.min.js')) },
};

/** Each file read once, on first use. */
export function assetCache(): (name: string) => { contentType: string; body: Buffer } | undefined {
  const loaded = new Map<string, Buffer>();
  return (name) => {
    if (!Object.hasOwn(APPROVAL_ASSETS, name)) return undefined;
    const file = APPROVAL_ASSETS[name]!;
    let body = loaded.get(name);
    if (!body) {
      body = file.load();
      loaded.set(name, body);
    }
    return { contentType: file.contentType, body };
  };
}
