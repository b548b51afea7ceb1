import { existsSync } from 'node:fs';
import { CliError, EXIT } from '../errors.js';
import { CLIENTS, SERVER_NAME, clientConfig, serverEntry, type ClientConfig } from '../mcp-config/clients.js';
import { applyChange, describeChange, installedEntry, planInstall } from '../mcp-config/write.js';
import type { CliIo, Output } from '../output.js';
import type { Settings } from '../settings.js';

export interface InstallFlags {
  client?: string;
  scope?: string;
  'dry-run'?: boolean;
}

export interface InstallResult {
  client: string;
  file: string;
  changed: boolean;
  dryRun: boolean;
  backup: string | null;
  otherServers: string[];
  diff: string;
}

function otherServers(config: ClientConfig, text: string): string[] {
  try {
    const doc = config.format === 'json' ? (JSON.parse(text) as Record<string, unknown>) : undefined;
    const servers = doc?.[config.serversPath[0]!];
    if (servers && typeof servers === 'object') return Object.keys(servers).filter((name) => name !== SERVER_NAME);
  } catch {
    // Only for the report.
  }
  if (config.format === 'toml') return [...text.matchAll(/^\s*\[\s*mcp_servers\.("?)([^\].\s"]+)\1\s*\]/gm)].map((m) => m[2]!).filter((n) => n !== SERVER_NAME);
  return [];
}

/** Adds (or updates) card402 in one client's MCP configuration; a backup first; --dry-run writes nothing. */
export function installInto(config: ClientConfig, settings: Settings, env: NodeJS.ProcessEnv, dryRun: boolean): InstallResult {
  const change = planInstall(config, serverEntry(settings, env));
  const backup = dryRun ? undefined : applyChange(change);
  return {
    client: config.client,
    file: config.file,
    changed: change.changed,
    dryRun,
    backup: backup ?? null,
    otherServers: otherServers(config, change.after),
    diff: change.changed ? describeChange(change) : '',
  };
}

export function installSummary(result: InstallResult): string {
  if (!result.changed) return `${result.client}: card402 is already configured in ${result.file}`;
  const kept = result.otherServers.length ? `; other servers kept: ${result.otherServers.join(', ')}` : '';
  if (result.dryRun) return `${result.client}: would change ${result.file}${kept} (dry run, nothing written)\n${result.diff}`;
  return `${result.client}: card402 added to ${result.file}${kept}${result.backup ? `\n  backup: ${result.backup}` : ''}\n  restart ${result.client === 'claude' ? 'Claude Code' : result.client === 'cursor' ? 'Cursor' : 'Codex'} to load it`;
}

/** `card402 install --client claude|cursor|codex [--scope user|project] [--dry-run]`. */
export function installCommand(values: InstallFlags, settings: Settings, io: CliIo, out: Output): void {
  if (!values.client) throw new CliError(`usage: card402 install --client ${CLIENTS.join('|')} [--scope user|project] [--dry-run]`, EXIT.usage);
  const config = clientConfig(values.client, values.scope, io.env);
  const result = installInto(config, settings, io.env, values['dry-run'] ?? false);
  out.result(result, installSummary(result));
}

export interface DoctorCheck {
  check: string;
  ok: boolean;
  detail: string;
}

/** `card402 doctor`'s MCP lines: each client configuration that names card402, checked; none is not a failure. */
export function mcpDoctorChecks(settings: Settings, env: NodeJS.ProcessEnv): DoctorCheck[] {
  const configs = [clientConfig('claude', 'user', env), clientConfig('claude', 'project', env), clientConfig('cursor', undefined, env), clientConfig('codex', undefined, env)];
  const checks: DoctorCheck[] = [];
  for (const config of configs) {
    const label = `mcp:${config.client}${config.scope === 'project' ? ':project' : ''}`;
    let entry: unknown;
    try {
      entry = installedEntry(config);
    } catch (err) {
      checks.push({ check: label, ok: false, detail: (err as Error).message });
      continue;
    }
    if (entry === undefined) continue;
    checks.push({ check: label, ...checkEntry(entry, settings, config.file) });
  }
  if (checks.length === 0) checks.push({ check: 'mcp', ok: true, detail: `no agent client has card402 configured: card402 install --client ${CLIENTS.join('|')}` });
  return checks;
}

function checkEntry(entry: unknown, settings: Settings, file: string): Omit<DoctorCheck, 'check'> {
  const e = (entry && typeof entry === 'object' ? entry : {}) as { command?: unknown; args?: unknown; env?: unknown };
  const args = Array.isArray(e.args) ? e.args.filter((a): a is string => typeof a === 'string') : [];
  const env = (e.env && typeof e.env === 'object' ? e.env : {}) as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof e.command !== 'string' || e.command === '') problems.push('no command');
  else if (e.command.startsWith('/') && !existsSync(e.command)) problems.push(`command ${e.command} does not exist`);
  if (!args.includes('mcp')) problems.push('its args do not run `card402 mcp`');
  const script = args.find((a) => a.endsWith('.js'));
  if (script && !existsSync(script)) problems.push(`${script} does not exist`);
  const wallet = typeof env.CARD402_WALLET === 'string' ? env.CARD402_WALLET : undefined;
  if (wallet && !existsSync(wallet)) problems.push(`its wallet ${wallet} does not exist (card402 onboard)`);
  if (typeof env.CARD402_API_URL === 'string' && env.CARD402_API_URL !== settings.apiUrl) problems.push(`it uses API ${env.CARD402_API_URL}, not ${settings.apiUrl}`);
  if (problems.length) return { ok: false, detail: `${file}: ${problems.join('; ')} (fix: card402 install --client …)` };
  return { ok: true, detail: `${file}: card402 configured (wallet ${wallet ?? 'default'})` };
}
