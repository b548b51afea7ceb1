/** A failure the CLI reports in one line, with a chosen exit code. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  api: 3,
  paymentRefused: 4,
  insufficientBalance: 5,
  payment: 6,
  timeout: 7,
} as const;
