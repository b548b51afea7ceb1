import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { loadServerConfig } from '../../src/server.js';

describe('loadConfig', () => {
  it('runs offline with no configuration at all', () => {
    const config = loadConfig({});
    expect(config.port).toBe(4020);
    expect(config.dataDir).toBe(path.resolve('./data'));
    expect(config.databasePath).toBe(path.join(path.resolve('./data'), 'card402.sqlite'));
    expect(config.stellar.rpcUrl).toBeUndefined();
    expect(config.stellar.network).toBe('stellar:testnet');
    expect(config.stellar.usdcContract).toBe('CBIELTK6YBZJU5UP2WWQEUCYKLPU6AUNZ2BQ4WWFEIE3USCIHMXQDAMA');
    expect(config.publicBaseUrl).toBe('http://localhost:4020');
    expect(config.details.auditRetentionDays).toBe(90);
  });

  it('takes good values', () => {
    const config = loadConfig({
      PORT: '8080',
      DATA_DIR: '/tmp/x',
      LOG_LEVEL: 'warn',
      STELLAR_NETWORK: 'stellar:pubnet',
      STELLAR_RPC_URL: 'https://rpc.example.org',
      PUBLIC_BASE_URL: 'https://cards.example.org/',
      BODY_LIMIT_BYTES: '1000',
      DETAILS_AUDIT_RETENTION_DAYS: '30',
    });
    expect(config.port).toBe(8080);
    expect(config.databasePath).toBe('/tmp/x/card402.sqlite');
    expect(config.logLevel).toBe('warn');
    expect(config.stellar.usdcContract).toBe('CCW67TSZV3SSS2HXMBQ5JFGCKJNXKZM7UQUWUZPUTHXSTZLEO7SJMI75');
    expect(config.stellar.rpcUrl).toBe('https://rpc.example.org');
    expect(config.publicBaseUrl).toBe('https://cards.example.org');
    expect(config.bodyLimitBytes).toBe(1000);
    expect(config.details.auditRetentionDays).toBe(30);
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ PORT: '', STELLAR_RPC_URL: ' ' }).port).toBe(4020);
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '12.5'],
    ['LOG_LEVEL', 'loud'],
    ['STELLAR_NETWORK', 'ethereum:1'],
    ['STELLAR_RPC_URL', 'not a url'],
    ['STELLAR_RPC_URL', 'ftp://rpc.example.org'],
    ['PUBLIC_BASE_URL', 'javascript:alert(1)'],
    ['BODY_LIMIT_BYTES', '-1'],
    ['TREASURY_SECRET', 'GABC'],
    ['USDC_CONTRACT', 'USDC'],
    ['DETAILS_AUDIT_RETENTION_DAYS', '0'],
    ['DETAILS_AUDIT_RETENTION_DAYS', '1.5'],
    ['DETAILS_AUDIT_RETENTION_DAYS', '3651'],
  ])('rejects %s=%s with a message naming the variable', (name, value) => {
    let thrown: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as Error).message).toContain(name);
  });

  it('never echoes a bad secret value back', () => {
    const secretish = 'SNOTAREALSECRETBUTLONGENOUGHTOLOOKLIKEONE';
    expect(() => loadConfig({ TREASURY_SECRET: secretish })).toThrow(ConfigError);
    try {
      loadConfig({ TREASURY_SECRET: secretish });
    } catch (err) {
      expect((err as Error).message).not.toContain(secretish);
    }
  });
});

describe('loadServerConfig (the production configuration plus the embedded ledger\'s LOCALNET_* settings)', () => {
  it('defaults the embedded ledger and keeps its state in DATA_DIR', () => {
    const config = loadServerConfig({ DATA_DIR: '/tmp/x' });
    expect(config.localnet).toEqual({ port: 8000, host: '127.0.0.1', ledgerMs: 5000, statePath: '/tmp/x/localnet-state.json', tls: undefined });
    expect(config.port).toBe(4020);
  });

  it('names every bad variable of both sets in one ConfigError', () => {
    let thrown: unknown;
    try {
      loadServerConfig({ LOCALNET_LEDGER_MS: '0', PORT: 'abc' });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as Error).message).toContain('LOCALNET_LEDGER_MS');
    expect((thrown as Error).message).toContain('PORT');
  });

  it.each([
    ['a standalone-ledger network other than STELLAR_NETWORK', { STELLAR_NETWORK: 'stellar:pubnet', LOCALNET_NETWORK: 'stellar:testnet' }, /LOCALNET_NETWORK: stellar:testnet differs from STELLAR_NETWORK stellar:pubnet/],
    ['the testnet USDC contract on pubnet', { STELLAR_NETWORK: 'stellar:pubnet', USDC_CONTRACT: 'CBIELTK6YBZJU5UP2WWQEUCYKLPU6AUNZ2BQ4WWFEIE3USCIHMXQDAMA' }, /USDC_CONTRACT: the embedded ledger \(no STELLAR_RPC_URL\) serves only USDC CCW67TSZV3SSS2HXMBQ5JFGCKJNXKZM7UQUWUZPUTHXSTZLEO7SJMI75, the stellar:pubnet one/],
    ['a USDC contract the embedded ledger does not serve', { USDC_CONTRACT: 'CCW67TSZV3SSS2HXMBQ5JFGCKJNXKZM7UQUWUZPUTHXSTZLEO7SJMI75' }, /USDC_CONTRACT: the embedded ledger \(no STELLAR_RPC_URL\) serves only USDC/],
  ])('refuses to start without STELLAR_RPC_URL given %s, saying why', (_name, env, message) => {
    expect(() => loadServerConfig({ DATA_DIR: '/tmp/x', ...env })).toThrow(message);
  });

  it('accepts those settings with an RPC URL, and the embedded ledger’s own contract without one', () => {
    const pubnet = loadServerConfig({ DATA_DIR: '/tmp/x', STELLAR_NETWORK: 'stellar:pubnet', STELLAR_RPC_URL: 'https://rpc.example' });
    expect(pubnet.stellar).toMatchObject({ network: 'stellar:pubnet', usdcContract: 'CCW67TSZV3SSS2HXMBQ5JFGCKJNXKZM7UQUWUZPUTHXSTZLEO7SJMI75' });
    expect(loadServerConfig({ DATA_DIR: '/tmp/x', USDC_CONTRACT: 'CBIELTK6YBZJU5UP2WWQEUCYKLPU6AUNZ2BQ4WWFEIE3USCIHMXQDAMA' }).stellar.network).toBe('stellar:testnet');
    // Pubnet without an RPC URL: the embedded ledger poses as pubnet, serving mainnet USDC.
    expect(loadServerConfig({ DATA_DIR: '/tmp/x', STELLAR_NETWORK: 'stellar:pubnet' }).stellar).toMatchObject({ network: 'stellar:pubnet', usdcContract: 'CCW67TSZV3SSS2HXMBQ5JFGCKJNXKZM7UQUWUZPUTHXSTZLEO7SJMI75' });
  });

  it('leaves the production configuration without the local ledger', () => {
    expect(loadConfig({ LOCALNET_PORT: '0' })).not.toHaveProperty('localnet');
  });
});
