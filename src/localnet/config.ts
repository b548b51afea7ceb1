import path from 'node:path';
import { z } from 'zod';
import { NETWORKS } from '../protocol/networks.js';
import { DEFAULT_LEDGER_MS } from './constants.js';

const port = (fallback: number) => z.coerce.number().int().min(0).max(65_535).default(fallback);

export const localnetEnvSchema = z
  .object({
    // The network `npm run localnet` poses as (default testnet); card402's embedded ledger follows STELLAR_NETWORK.
    LOCALNET_NETWORK: z.enum(NETWORKS).optional(),
    LOCALNET_PORT: port(8000),
    LOCALNET_HOST: z.string().min(1).default('127.0.0.1'),
    LOCALNET_LEDGER_MS: z.union([z.literal('manual'), z.coerce.number().int().min(100).max(3_600_000)]).default(DEFAULT_LEDGER_MS),
    LOCALNET_STATE: z.string().min(1).optional(),
    LOCALNET_TLS_CERT: z.string().min(1).optional(),
    LOCALNET_TLS_KEY: z.string().min(1).optional(),
    LOCALNET_TLS_PORT: port(8443),
  })
  .refine((e) => (e.LOCALNET_TLS_CERT === undefined) === (e.LOCALNET_TLS_KEY === undefined), {
    message: 'set both LOCALNET_TLS_CERT and LOCALNET_TLS_KEY, or neither',
    path: ['LOCALNET_TLS_CERT'],
  });

export type LocalnetEnv = z.infer<typeof localnetEnvSchema>;

/** Pure: reads the localnet's variables from `env`; throws an Error naming each bad variable. */
export function loadLocalnetEnv(env: Record<string, string | undefined>): LocalnetEnv {
  const blankless = Object.fromEntries(Object.entries(env).filter(([k, v]) => k.startsWith('LOCALNET_') && v !== ''));
  const parsed = localnetEnvSchema.safeParse(blankless);
  if (parsed.success) return parsed.data;
  throw new Error(parsed.error.issues.map((i) => `${i.path.join('.') || 'environment'}: ${i.message}`).join('; '));
}

/** How card402's server runs the embedded ledger (only when no STELLAR_RPC_URL is set). */
export interface LocalnetSettings {
  port: number;
  host: string;
  ledgerMs: number | 'manual';
  statePath: string;
  tls: { certFile: string; keyFile: string; port: number } | undefined;
}

/** The embedded ledger's settings: the same variables as `npm run localnet`, its state kept in `dataDir`. */
export function localnetSettings(env: LocalnetEnv, dataDir: string): LocalnetSettings {
  return {
    port: env.LOCALNET_PORT,
    host: env.LOCALNET_HOST,
    ledgerMs: env.LOCALNET_LEDGER_MS,
    statePath: env.LOCALNET_STATE ?? path.join(dataDir, 'localnet-state.json'),
    tls:
      env.LOCALNET_TLS_CERT && env.LOCALNET_TLS_KEY
        ? { certFile: env.LOCALNET_TLS_CERT, keyFile: env.LOCALNET_TLS_KEY, port: env.LOCALNET_TLS_PORT }
        : undefined,
  };
}
