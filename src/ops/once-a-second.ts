// A log line for an event that can happen thousands of times a second under load (a full
// hashing queue): the first one is logged at once, the rest are counted and summed up once per
// interval while they go on, so a flood does not also flood the log.
export type Occurrences = { (): void; flush(): void };

export function onceASecond(report: (count: number) => void, intervalMs = 1000): Occurrences {
  let pending = 0;
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    if (pending === 0) {
      timer = undefined; // a quiet interval: the next occurrence is reported at once again
      return;
    }
    const count = pending;
    pending = 0;
    report(count);
    timer = setTimeout(tick, intervalMs).unref();
  };
  const occurred = () => {
    pending++;
    if (timer) return;
    const count = pending;
    pending = 0;
    report(count);
    timer = setTimeout(tick, intervalMs).unref();
  };
  return Object.assign(occurred, {
    flush() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (pending > 0) report(pending);
      pending = 0;
    },
  });
}
