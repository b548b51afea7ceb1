import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { Card402Client } from '../../client/card402-client.js';
import type { McpContext } from '../../mcp/context.js';
import { ToolFailure } from '../../mcp/errors.js';
import { createMcpServer } from '../../mcp/server.js';
import { CliError, EXIT } from '../errors.js';
import type { CliIo } from '../output.js';
import type { Settings } from '../settings.js';
import { loadPins, loadWallet, savePin, walletExists } from '../wallet-file.js';

/** CARD402_MCP_REVEAL_DETAILS: only the exact word `true` (or 1) reveals card data to the model. */
export function revealDetailsSetting(env: NodeJS.ProcessEnv): boolean {
  const value = env.CARD402_MCP_REVEAL_DETAILS?.trim().toLowerCase();
  if (value === undefined || value === '' || value === 'false' || value === '0') return false;
  if (value === 'true' || value === '1') return true;
  throw new CliError(`CARD402_MCP_REVEAL_DETAILS must be true or false, got ${env.CARD402_MCP_REVEAL_DETAILS}`, EXIT.usage);
}

/**
 * The context `card402 mcp` gives its tools: the CLI's settings, and one wallet client for the
 * session, made on first use (so a wallet created after the agent's client started is picked up)
 * and kept (so the spend cap counts the whole session). Nothing here writes to stdout.
 */
export function mcpContext(settings: Settings, env: NodeJS.ProcessEnv): McpContext {
  const revealDetails = revealDetailsSetting(env);
  let walletClient: Card402Client | undefined;
  return {
    settings: {
      apiUrl: settings.apiUrl,
      rpcUrl: settings.rpcUrl,
      network: settings.network,
      walletFile: settings.walletFile,
      home: settings.home,
      maxPaymentAtomic: settings.maxPaymentAtomic,
      spendCapAtomic: settings.spendCapAtomic,
      revealDetails,
    },
    public: new Card402Client({ baseUrl: settings.apiUrl, rpcUrl: settings.rpcUrl, network: settings.network }),
    wallet() {
      if (walletClient) return walletClient;
      if (!walletExists(settings.walletFile)) {
        throw new ToolFailure('NO_WALLET', `no wallet at ${settings.walletFile}`, 'ask the user to run `card402 onboard -y` (or `card402 wallet create`) in a terminal');
      }
      let signer;
      try {
        signer = loadWallet(settings.walletFile);
      } catch (err) {
        throw new ToolFailure('WALLET_UNREADABLE', (err as Error).message, 'ask the user to run `card402 doctor` in a terminal');
      }
      const pins = loadPins(settings.pinsFile);
      walletClient = new Card402Client({
        baseUrl: settings.apiUrl,
        rpcUrl: settings.rpcUrl,
        network: settings.network,
        signer,
        ...(pins[settings.apiUrl] ? { payTo: pins[settings.apiUrl] } : {}),
        onPayToPinned: (payTo) => savePin(settings.pinsFile, settings.apiUrl, payTo),
        limits: { spendCapAtomic: settings.spendCapAtomic, maxPaymentAtomic: settings.maxPaymentAtomic },
      });
      return walletClient;
    },
  };
}

/** `card402 mcp`: serves the MCP tools on stdin/stdout until the client closes stdin. */
export async function mcpCommand(settings: Settings, io: CliIo): Promise<number> {
  const server = createMcpServer(mcpContext(settings, io.env));
  const transport = new StdioServerTransport(io.stdin, io.stdout);
  const closed = new Promise<void>((resolve) => {
    io.stdin.once('end', resolve);
    io.stdin.once('close', resolve);
  });
  await server.connect(transport);
  io.stderr.write(`card402 MCP server ready (API ${settings.apiUrl}, wallet ${settings.walletFile})\n`);
  await closed;
  await server.close();
  return EXIT.ok;
}
