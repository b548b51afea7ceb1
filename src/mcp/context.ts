import type { Card402Client } from '../client/card402-client.js';
import type { StellarNetwork } from '../protocol/networks.js';

/** What `card402 mcp` was started with: the CLI's settings plus the MCP server's own. */
export interface McpSettings {
  apiUrl: string;
  rpcUrl: string;
  network: StellarNetwork;
  walletFile: string;
  /** The CLI's home folder (CARD402_HOME, default ~/.card402): card session tokens are written under it. */
  home: string;
  /** CARD402_MAX_PAYMENT: most that any one payment may cost, atomic USDC. */
  maxPaymentAtomic: bigint;
  /** CARD402_SPEND_CAP: most that this MCP session may pay in total, atomic USDC. */
  spendCapAtomic: bigint;
  /** CARD402_MCP_REVEAL_DETAILS=true: get_card_details returns the card number and CVV (ASG's behaviour). */
  revealDetails: boolean;
}

/** What every tool gets. */
export interface McpContext {
  settings: McpSettings;
  /**
   * The wallet's client, one for the whole session (its spend counter is the session total).
   * Throws a ToolFailure `NO_WALLET` while there is no wallet file.
   */
  wallet(): Card402Client;
  /** A client without a wallet, for public reads (pricing, health). */
  readonly public: Card402Client;
}
