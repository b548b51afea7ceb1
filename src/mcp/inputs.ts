import { z } from 'zod';
import { isUuid } from '../protocol/api.js';

/** Inputs shared by several tools, with descriptions written for the model. */

export const cardId = z
  .string()
  .refine(isUuid, 'cardId must be a card id (a UUID) as list_cards returns it')
  .describe('The card id (a UUID), as list_cards or create_card returned it');

/** Dollars as text ("25", "25.50") or a number; pricing checks range and decimals and says what is wrong. */
export const dollarAmount = (what: string) =>
  z.union([z.string().max(16), z.number().nonnegative()]).describe(`${what}, in US dollars with at most two decimals, e.g. "25" or "25.50"`);
