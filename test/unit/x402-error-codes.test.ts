import { describe, expect, it } from 'vitest';
import { X402_ERROR_CODES, x402ErrorCode } from '../../src/x402/error-codes.js';
import { VERIFY_REASONS } from '../../src/x402/verify.js';

describe('x402 standard error codes', () => {
  it.each(VERIFY_REASONS)('maps the verification reason %s to a standard code', (reason) => {
    expect(X402_ERROR_CODES).toContain(x402ErrorCode(reason));
  });

  it('maps each standard code to itself, and what only the spec names by its meaning', () => {
    for (const code of X402_ERROR_CODES) expect(x402ErrorCode(code)).toBe(code);
    expect(x402ErrorCode('unsupported_version')).toBe('invalid_x402_version');
    expect(x402ErrorCode('network_mismatch')).toBe('invalid_network');
    expect(x402ErrorCode('requirements_mismatch')).toBe('invalid_payment_requirements');
    expect(x402ErrorCode('invalid_payment_header')).toBe('invalid_payload');
    expect(x402ErrorCode('settlement_failed')).toBe('invalid_transaction_state');
    expect(x402ErrorCode('transaction_failed:txFAILED')).toBe('invalid_transaction_state');
  });

  it('never answers with a code outside the standard set', () => {
    expect(x402ErrorCode('something_a_facilitator_made_up')).toBe('invalid_payload');
    expect(x402ErrorCode('')).toBe('invalid_payload');
  });
});
