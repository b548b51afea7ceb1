import type { McpContext } from '../context.js';
import { quote, sessionSpent, spendingView, usd } from '../money.js';
import { READ_ONLY, defineTool } from '../tool.js';

/** ASG's get_wallet_status: where the money is and whether a purchase can go through now. */
export const getWalletStatus = defineTool({
  name: 'get_wallet_status',
  title: 'Wallet status (use first)',
  description:
    'Use this FIRST, before any card operation. Returns the agent wallet card402 pays from: its Stellar address (where to send USDC), the network, its USDC balance, whether it can pay for a card right now, the spend caps and what this session has spent, whether the card402 API answers, and the next step.',
  input: {},
  annotations: READ_ONLY,
  async run(_input, ctx: McpContext) {
    const client = ctx.wallet();
    const [balance, api] = await Promise.all([
      client.usdcBalance().then((atomic) => ({ atomic }), (err: unknown) => ({ error: err instanceof Error ? err.message.split('\n')[0]! : String(err) })),
      ctx.public.health().then((h) => ({ ok: h.status === 'ok', version: h.version }), () => ({ ok: false as const })),
    ]);
    const cheapest = quote('create', '0').totalAtomic;
    const spending = spendingView(ctx, sessionSpent(client));
    const capsAllow = cheapest <= ctx.settings.maxPaymentAtomic && cheapest <= ctx.settings.spendCapAtomic - sessionSpent(client);
    const usdcAtomic = 'atomic' in balance ? balance.atomic : undefined;
    const ready = usdcAtomic !== undefined && usdcAtomic >= cheapest && capsAllow && api.ok;
    let nextStep: string;
    if (!api.ok) nextStep = `The card402 API at ${ctx.settings.apiUrl} does not answer: ask the user to start it or fix CARD402_API_URL.`;
    else if (usdcAtomic === undefined) nextStep = `The Soroban RPC at ${ctx.settings.rpcUrl} does not answer: ask the user to check CARD402_RPC_URL.`;
    else if (usdcAtomic < cheapest)
      nextStep = `The wallet holds ${usd(usdcAtomic)} USDC; a card costs at least $${usd(cheapest)}. Ask the user to send USDC on Stellar (${ctx.settings.network}) to ${client.address} (on the local ledger: \`card402 wallet fund\`).`;
    else if (!capsAllow) nextStep = `The spend caps leave less than the cheapest card ($${usd(cheapest)}): ask the user to raise CARD402_SPEND_CAP or CARD402_MAX_PAYMENT.`;
    else nextStep = 'Ready. Use get_pricing to quote a card, then create_card to buy one.';
    const data = {
      address: client.address,
      depositAddress: client.address,
      network: ctx.settings.network,
      apiUrl: ctx.settings.apiUrl,
      apiReachable: api.ok,
      usdcBalance: usdcAtomic === undefined ? null : usd(usdcAtomic),
      usdcBalanceAtomic: usdcAtomic === undefined ? null : usdcAtomic.toString(),
      minimumCardPrice: usd(cheapest),
      readyForCardCreation: ready,
      spending,
      nextStep,
    };
    const text = `Wallet ${client.address} on ${ctx.settings.network}: ${data.usdcBalance === null ? 'balance unknown' : `${data.usdcBalance} USDC`}; ${ready ? 'ready to buy a card' : 'not ready'}. ${nextStep}`;
    return { text, data };
  },
});
