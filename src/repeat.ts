/**
 * Runs `task` every `intervalMs` until stopped, one pass at a time (a pass never overlaps the
 * previous one), without keeping the process alive. A failing pass goes to `onError` and the next
 * tick tries again; `stop()` waits for a pass under way. Used by the reconciler and the
 * details-audit pruning.
 */
export function repeatEvery(intervalMs: number, task: () => Promise<unknown>, onError: (err: unknown) => void): { stop(): Promise<void> } {
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const timer = setInterval(() => {
    if (stopped) return;
    running = running.then(() => (stopped ? undefined : task())).catch(onError);
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
