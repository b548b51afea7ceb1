import type { z } from 'zod';
import type { McpContext } from './context.js';

/** What a tool answers on success: one short line for the model, and the data as structured content. */
export interface ToolOutcome {
  text: string;
  data: Record<string, unknown>;
}

export interface ToolAnnotations {
  readOnlyHint?: boolean;
  destructiveHint?: boolean;
  idempotentHint?: boolean;
  openWorldHint?: boolean;
}

/**
 * One MCP tool: a name (ASG's where ASG has the tool), a description an LLM can act on, a zod
 * input shape (the SDK validates it and publishes it as JSON Schema), and `run`, which returns
 * an outcome or throws (src/mcp/errors.ts turns every throw into a tool error). A capability is
 * one module in src/mcp/tools/ and one entry in its index.ts.
 */
export interface Card402Tool<Shape extends z.ZodRawShape = z.ZodRawShape> {
  name: string;
  title: string;
  /** A function when the text depends on the settings (the caps a paying tool enforces). */
  description: string | ((ctx: McpContext) => string);
  input: Shape;
  annotations: ToolAnnotations;
  run(input: z.output<z.ZodObject<Shape>>, ctx: McpContext): Promise<ToolOutcome>;
}

/** Keeps the input type of `run` tied to the shape, and erases it for the registry list. */
export function defineTool<Shape extends z.ZodRawShape>(tool: Card402Tool<Shape>): Card402Tool {
  return tool as unknown as Card402Tool;
}

/** The MCP annotations of a tool that only reads card402. */
export const READ_ONLY: ToolAnnotations = { readOnlyHint: true, openWorldHint: true };
