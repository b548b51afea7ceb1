import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { VERSION } from '../version.js';
import type { McpContext } from './context.js';
import { ToolFailure, failureView } from './errors.js';
import type { Card402Tool, ToolOutcome } from './tool.js';
import { TOOLS } from './tools/index.js';

export const MCP_SERVER_NAME = 'card402';

const INSTRUCTIONS = `card402 sells virtual debit cards paid in USDC on Stellar. Start with get_wallet_status. \
Paying tools (create_card, fund_card) state the exact price and refuse anything over the user's caps before signing. \
Card numbers and CVVs are kept out of this conversation unless the user opted in. \
After a TIMEOUT or PAYMENT_INCOMPLETE error, check list_cards and get_payment_status before paying again.`;

/** JSON for the model: bigints as strings (tools convert them, but a stray one must not crash a tool). */
function json(value: unknown, indent?: number): string {
  return JSON.stringify(value, (_key, inner: unknown) => (typeof inner === 'bigint' ? inner.toString() : inner), indent);
}

/** Success: a short line for the model, the data as structured content and, for clients that read only text, as JSON. */
export function toolResult(outcome: ToolOutcome): CallToolResult {
  const data = JSON.parse(json(outcome.data)) as Record<string, unknown>;
  return { content: [{ type: 'text', text: outcome.text }, { type: 'text', text: json(data, 2) }], structuredContent: data };
}

/** Any failure as an MCP tool error (isError): the code, what happened and the next step; never a stack. */
export function toolError(err: unknown): CallToolResult {
  const view = failureView(err);
  return {
    isError: true,
    content: [{ type: 'text', text: `Error ${view.code}: ${view.message}\nNext step: ${view.nextStep}` }],
    structuredContent: { error: view },
  };
}

function invalidInput(tool: Card402Tool, error: z.ZodError): CallToolResult {
  const issues = error.issues.map((issue) => `${issue.path.join('.') || '(input)'}: ${issue.message}`).join('; ');
  return toolError(new ToolFailure('INVALID_INPUT', `invalid input for ${tool.name}: ${issues}`, "fix the fields named here (see the tool's input schema) and call again"));
}

/** The tool as tools/list shows it: its zod input as JSON Schema (draft-07, as the SDK's own McpServer publishes it). */
function listing(tool: Card402Tool, ctx: McpContext): Tool {
  const inputSchema = z.toJSONSchema(z.object(tool.input), { target: 'draft-7', io: 'input', unrepresentable: 'any' }) as Tool['inputSchema'];
  return {
    name: tool.name,
    title: tool.title,
    description: typeof tool.description === 'function' ? tool.description(ctx) : tool.description,
    inputSchema,
    annotations: { title: tool.title, ...tool.annotations },
  };
}

/**
 * The card402 MCP server: every tool in TOOLS, served by the official SDK's `Server`. Tool calls
 * are dispatched here rather than through the SDK's McpServer so that every failure, a bad input
 * included, is the same tool error (a code, the message, a next step) that the model can act on.
 */
export function createMcpServer(ctx: McpContext, version = VERSION): Server {
  const byName = new Map(TOOLS.map((tool) => [tool.name, tool]));
  const schemas = new Map(TOOLS.map((tool) => [tool.name, z.object(tool.input)]));
  const server = new Server({ name: MCP_SERVER_NAME, version }, { capabilities: { tools: {} }, instructions: INSTRUCTIONS });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: TOOLS.map((tool) => listing(tool, ctx)) }));
  server.setRequestHandler(CallToolRequestSchema, async (request) => {
    const tool = byName.get(request.params.name);
    if (!tool) throw new McpError(ErrorCode.InvalidParams, `unknown tool ${request.params.name}; tools/list names them`);
    const parsed = schemas.get(tool.name)!.safeParse(request.params.arguments ?? {});
    if (!parsed.success) return invalidInput(tool, parsed.error);
    try {
      return toolResult(await tool.run(parsed.data, ctx));
    } catch (err) {
      return toolError(err);
    }
  });
  return server;
}
