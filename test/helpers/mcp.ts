import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

const BIN = path.resolve('bin/card402.js');

export interface McpSession {
  client: Client;
  /** Calls a tool and returns its result (content, structuredContent, isError). */
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  stderr(): string;
  close(): Promise<void>;
}

/** `card402 mcp` spawned by the official MCP client over stdio, as an agent's client starts it. */
export async function spawnMcp(env: Record<string, string>): Promise<McpSession> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, 'mcp'],
    env: { PATH: process.env.PATH ?? '', ...env },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const client = new Client({ name: 'card402-test', version: '0.0.0' });
  await client.connect(transport);
  return {
    client,
    async call(name, args = {}) {
      return (await client.callTool({ name, arguments: args }, undefined, { timeout: 120_000 })) as CallToolResult;
    },
    stderr: () => stderr,
    close: () => client.close(),
  };
}

/** The text a tool error or result carries, all content blocks joined. */
export function textOf(result: CallToolResult): string {
  return result.content.map((block) => (block.type === 'text' ? block.text : '')).join('\n');
}
