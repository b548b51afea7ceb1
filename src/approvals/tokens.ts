import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Payment request ids: `pr_` and 128 random bits (never a counter: ids are shown to owners). */
export function newPaymentRequestId(): string {
  return `pr_${randomBytes(16).toString('hex')}`;
}

/** An approval token: 256 random bits, base64url. Shown once (in the approval URL), stored only as its hash. */
export function newApprovalToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashApprovalToken(token: string): string {
  return createHash('sha256').update(`card402-approval:${token}`).digest('hex');
}

/** Constant-time: whether `token` is the one whose hash is stored. */
export function approvalTokenMatches(storedHash: string, token: string): boolean {
  const expected = Buffer.from(storedHash, 'hex');
  const given = Buffer.from(hashApprovalToken(token), 'hex');
  return expected.length === given.length && timingSafeEqual(expected, given);
}
