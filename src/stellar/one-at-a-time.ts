/** Runs `work` while no other card402 instance runs work under the same name (see db/leases.ts). */
export type AcrossInstances = <T>(work: () => Promise<T>) => Promise<T>;

/**
 * A queue of one: `work` runs after every earlier piece given to this queue has finished, and
 * inside `acrossInstances` when given (an advisory lock on PostgreSQL, so other instances wait
 * too). For the transactions of one Stellar source account (treasury, mandate account, channel
 * funding): the network takes one per source per ledger, and two built from the same sequence
 * number cannot both land.
 */
export function oneAtATime(acrossInstances?: AcrossInstances): AcrossInstances {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(work: () => Promise<T>): Promise<T> => {
    const guarded = acrossInstances ? () => acrossInstances(work) : work;
    const run = tail.then(guarded, guarded);
    tail = run.catch(() => undefined);
    return run;
  };
}
