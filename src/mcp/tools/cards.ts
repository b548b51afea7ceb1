import type { CardSummary } from '../../protocol/api.js';
import { cardId } from '../inputs.js';
import { READ_ONLY, defineTool } from '../tool.js';

function line(card: CardSummary): string {
  return `${card.cardId} ${card.nameOnCard} …${card.lastFour} $${card.balance.toFixed(2)} ${card.status}`;
}

/** ASG's list_cards: the cards this wallet bought (holds). */
export const listCards = defineTool({
  name: 'list_cards',
  title: 'List your cards',
  description: 'List the virtual cards this wallet bought: card id, name, last four digits, balance and status, newest first. No card numbers or CVVs.',
  input: {},
  annotations: READ_ONLY,
  async run(_input, ctx) {
    const { cards } = await ctx.wallet().listCards();
    return {
      text: cards.length ? `${cards.length} card(s):\n${cards.map(line).join('\n')}` : 'No cards yet. Use create_card to buy one.',
      data: { cards },
    };
  },
});

/** Cards other wallets bought and named this wallet owner of (README, "Cards others named you owner of"). */
export const listAssignedCards = defineTool({
  name: 'list_assigned_cards',
  title: 'Cards others named you owner of',
  description:
    'List cards that OTHER wallets bought and named this wallet owner of, with the wallet that bought each (agentAddress). Anyone can name any wallet owner without its consent: check agentAddress before trusting or funding such a card. Not the cards you bought (see list_cards).',
  input: {},
  annotations: READ_ONLY,
  async run(_input, ctx) {
    const list = await ctx.wallet().listAssignedCards();
    return {
      text: list.cards.length ? `${list.cards.length} card(s) other wallets named you owner of:\n${list.cards.map((c) => `${line(c)} bought by ${c.agentAddress}`).join('\n')}` : 'No cards assigned to you by other wallets.',
      data: list,
    };
  },
});

/** ASG's get_card: one card's summary, never its card data. */
export const getCard = defineTool({
  name: 'get_card',
  title: 'One card',
  description:
    'Get one card: name, last four digits, balance, status (active/frozen), whether details are revoked, holder and owner wallets, dates. Never the card number or CVV (see get_card_details).',
  input: { cardId },
  annotations: READ_ONLY,
  async run({ cardId: id }, ctx) {
    const { card } = await ctx.wallet().getCard(id);
    return { text: `${line(card)}${card.detailsRevoked ? ' (details revoked)' : ''}`, data: { card } };
  },
});

/** ASG's get_balance: a card's balance. */
export const getBalance = defineTool({
  name: 'get_balance',
  title: 'Card balance',
  description: "Get a card's balance in US dollars (card402's own ledger of loads and top-ups).",
  input: { cardId },
  annotations: READ_ONLY,
  async run({ cardId: id }, ctx) {
    const balance = await ctx.wallet().balance(id);
    return { text: `Card ${balance.cardId}: balance $${balance.balance.toFixed(2)} ${balance.currency}.`, data: balance };
  },
});
