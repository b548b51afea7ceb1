/**
 * Payments this process is working on right now (a paid request settling it, or recovery resuming
 * it). Recovery leaves them alone, so one process never drives one payment twice at once; across
 * processes the compare-and-set transitions (repository.ts) keep them apart.
 */
export class InFlight {
  private readonly ids = new Set<string>();

  has(paymentId: string): boolean {
    return this.ids.has(paymentId);
  }

  /** False when the payment is already being worked on here. */
  claim(paymentId: string): boolean {
    if (this.ids.has(paymentId)) return false;
    this.ids.add(paymentId);
    return true;
  }

  release(paymentId: string): void {
    this.ids.delete(paymentId);
  }
}
