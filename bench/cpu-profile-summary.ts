/**
 * Reads a V8 CPU profile (`node --cpu-prof`, e.g. BENCH_CPU_PROF=dir of a bench) and prints where
 * the time went: the top functions by self time, self time per file (or package), and the inclusive
 * time of every function whose name or file matches one of the given patterns (each sample counted
 * once per function on its stack, so recursion does not double count).
 *
 *   npx tsx bench/cpu-profile-summary.ts <file.cpuprofile> [--top 30] [--per N] [pattern ...]
 *
 * --per N divides every time by N (e.g. the number of requests served) and prints µs per request.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const args = process.argv.slice(2);
const file = args.shift();
if (!file) {
  process.stderr.write('usage: cpu-profile-summary.ts <file.cpuprofile> [--top N] [--per N] [pattern ...]\n');
  process.exit(2);
}
const option = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = Number(args[i + 1]);
  args.splice(i, 2);
  return value;
};
const top = option('top', 30);
const per = option('per', 0);
const patterns = args.map((a) => new RegExp(a, 'i'));

const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const shortUrl = (url: string) => {
  if (!url) return '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const src = url.indexOf('/src/');
  if (src >= 0) return url.slice(src + 1);
  return path.basename(url);
};
const fileKey = (url: string) => {
  const s = shortUrl(url);
  if (url.includes('node_modules/')) {
    const parts = s.split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  return s;
};
const fnKey = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'} ${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;

const self = new Map<string, number>();
const selfByFile = new Map<string, number>();
const inclusive = new Map<string, number>();
let total = 0;
let idle = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const dt = profile.timeDeltas[i + 1] ?? 0; // a sample's time is the delta to the next one
  const leaf = byId.get(profile.samples[i]!)!;
  total += dt;
  if (leaf.callFrame.functionName === '(idle)') {
    idle += dt;
    continue;
  }
  self.set(fnKey(leaf), (self.get(fnKey(leaf)) ?? 0) + dt);
  const fk = leaf.callFrame.url ? fileKey(leaf.callFrame.url) : leaf.callFrame.functionName;
  selfByFile.set(fk, (selfByFile.get(fk) ?? 0) + dt);
  if (patterns.length === 0) continue;
  const seen = new Set<string>();
  for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
    const n = byId.get(id)!;
    const key = fnKey(n);
    if (seen.has(key)) continue;
    seen.add(key);
    if (patterns.some((p) => p.test(key))) inclusive.set(key, (inclusive.get(key) ?? 0) + dt);
  }
}

const busy = total - idle;
const fmt = (us: number) => (per > 0 ? `${(us / per).toFixed(1).padStart(8)} µs/req` : `${(us / 1000).toFixed(1).padStart(9)} ms`);
const pct = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)} %`;
const print = (title: string, m: Map<string, number>, n: number) => {
  console.log(`\n${title}`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`${fmt(v)} ${pct(v)}  ${k}`);
};
console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled, busy ${(busy / 1e6).toFixed(2)} s, idle ${(idle / 1e6).toFixed(2)} s${per > 0 ? `, per ${per}` : ''}`);
print('self time, by function', self, top);
print('self time, by file or package', selfByFile, top);
if (patterns.length > 0) print('inclusive time of matching functions', inclusive, 200);
