import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { atomicToCents, formatCents } from '../../protocol/money/units.js';
import { CliError, EXIT } from '../errors.js';
import { userHome, type Settings } from '../settings.js';

/** The agent clients `card402 install` configures, and where each keeps its MCP servers. */
export const CLIENTS = ['claude', 'cursor', 'codex'] as const;
export type ClientName = (typeof CLIENTS)[number];

export const SERVER_NAME = 'card402';

/** How a client starts `card402 mcp`: this Node and this checkout's bin, with the settings in force now. */
export interface ServerEntry {
  command: string;
  args: string[];
  env: Record<string, string>;
}

export interface ClientConfig {
  client: ClientName;
  /** `user` (the client's global file) or `project` (Claude Code's .mcp.json in the current folder). */
  scope: 'user' | 'project';
  file: string;
  format: 'json' | 'toml';
  /** Where the servers live inside the file: JSON object path or TOML table path, without the server name. */
  serversPath: string[];
  /** The entry as this client wants it. */
  entry(server: ServerEntry): Record<string, unknown>;
  /** Where this client reads agent skills from, if it does. */
  skillsDir?: string;
}

/** The card402 command of this installation (bin/card402.js beside src/). */
export const CARD402_BIN = path.resolve(fileURLToPath(new URL('../../../bin/card402.js', import.meta.url)));

const dollars = (atomic: bigint) => formatCents(atomicToCents(atomic));

export function serverEntry(settings: Settings, env: NodeJS.ProcessEnv): ServerEntry {
  return {
    command: process.execPath,
    args: [CARD402_BIN, 'mcp'],
    env: {
      CARD402_API_URL: settings.apiUrl,
      CARD402_RPC_URL: settings.rpcUrl,
      CARD402_NETWORK: settings.network,
      CARD402_HOME: settings.home,
      CARD402_WALLET: settings.walletFile,
      CARD402_SPEND_CAP: dollars(settings.spendCapAtomic),
      CARD402_MAX_PAYMENT: dollars(settings.maxPaymentAtomic),
      CARD402_MCP_REVEAL_DETAILS: env.CARD402_MCP_REVEAL_DETAILS === 'true' ? 'true' : 'false',
    },
  };
}

export function clientConfig(client: string | undefined, scope: string | undefined, env: NodeJS.ProcessEnv, cwd = process.cwd()): ClientConfig {
  const home = userHome(env);
  if (scope !== undefined && scope !== 'user' && scope !== 'project') throw new CliError('--scope must be user or project', EXIT.usage);
  if (scope === 'project' && client !== 'claude') throw new CliError('--scope project is for --client claude (.mcp.json in this folder)', EXIT.usage);
  switch (client) {
    case 'claude':
      return {
        client,
        scope: scope ?? 'user',
        // Claude Code: user scope in ~/.claude.json (top-level mcpServers), project scope in ./.mcp.json.
        file: scope === 'project' ? path.join(cwd, '.mcp.json') : path.join(home, '.claude.json'),
        format: 'json',
        serversPath: ['mcpServers'],
        entry: (s) => ({ type: 'stdio', command: s.command, args: s.args, env: s.env }),
        skillsDir: path.join(home, '.claude', 'skills'),
      };
    case 'cursor':
      return {
        client,
        scope: 'user',
        file: path.join(home, '.cursor', 'mcp.json'),
        format: 'json',
        serversPath: ['mcpServers'],
        entry: (s) => ({ command: s.command, args: s.args, env: s.env }),
      };
    case 'codex': {
      const codexHome = env.CODEX_HOME || path.join(home, '.codex');
      return {
        client,
        scope: 'user',
        file: path.join(codexHome, 'config.toml'),
        format: 'toml',
        serversPath: ['mcp_servers'],
        entry: (s) => ({ command: s.command, args: s.args, env: s.env }),
        skillsDir: path.join(codexHome, 'skills'),
      };
    }
    default:
      throw new CliError(`--client must be one of ${CLIENTS.join(', ')}`, EXIT.usage);
  }
}

/** The clients that look installed for this user (their configuration folder or file exists). */
export function detectedClients(env: NodeJS.ProcessEnv): ClientName[] {
  const home = userHome(env);
  const found: ClientName[] = [];
  if (existsSync(path.join(home, '.claude.json')) || existsSync(path.join(home, '.claude'))) found.push('claude');
  if (existsSync(path.join(home, '.cursor'))) found.push('cursor');
  if (existsSync(env.CODEX_HOME || path.join(home, '.codex'))) found.push('codex');
  return found;
}
