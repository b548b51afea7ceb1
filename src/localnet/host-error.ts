import { xdr } from '@stellar/stellar-sdk';

export type HostErrorType = 'Auth' | 'Contract' | 'Storage' | 'Value' | 'Budget' | 'Context';

/** How an op failure shows up in the result: the network distinguishes resource overruns from traps. */
export type HostFailure = 'trapped' | 'resource_limit_exceeded' | 'insufficient_refundable_fee';

/**
 * A failed host invocation, printed the way soroban-rpc prints one (`HostError: Error(Auth, InvalidAction)`),
 * plus a stable snake_case reason our tests and logs can match on.
 */
export class HostError extends Error {
  constructor(
    readonly type: HostErrorType,
    readonly code: string,
    readonly reason: string,
    detail: string,
    readonly failure: HostFailure = 'trapped',
  ) {
    super(`HostError: Error(${type}, ${code}) ${reason}: ${detail}`);
    this.name = 'HostError';
  }

  toScError(): xdr.ScError {
    const codes: Record<string, () => xdr.ScErrorCode> = {
      InvalidAction: () => xdr.ScErrorCode.scecInvalidAction(),
      ExistingValue: () => xdr.ScErrorCode.scecExistingValue(),
      MissingValue: () => xdr.ScErrorCode.scecMissingValue(),
      UnexpectedType: () => xdr.ScErrorCode.scecUnexpectedType(),
      UnexpectedSize: () => xdr.ScErrorCode.scecUnexpectedSize(),
      ExceededLimit: () => xdr.ScErrorCode.scecExceededLimit(),
      InvalidInput: () => xdr.ScErrorCode.scecInvalidInput(),
    };
    const code = (codes[this.code] ?? (() => xdr.ScErrorCode.scecInternalError()))();
    switch (this.type) {
      case 'Auth':
        return xdr.ScError.sceAuth(code);
      case 'Storage':
        return xdr.ScError.sceStorage(code);
      case 'Value':
        return xdr.ScError.sceValue(code);
      case 'Budget':
        return xdr.ScError.sceBudget(code);
      case 'Context':
        return xdr.ScError.sceContext(code);
      case 'Contract':
        return xdr.ScError.sceContract(Number.parseInt(this.code.replace('#', ''), 10) || 0);
    }
  }
}
