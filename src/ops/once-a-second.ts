// A log line for an event that can happen thousands of times a second under load (a full
// hashing queue): the first one is logged at once, the rest are counted and summed up at most
// once a second, so a flood does not also flood the log.
export type Occurrences = { (): void; flush(): void };

export function onceASecond(report: (count: number) => void, intervalMs = 1000): Occurrences {
  let pending = 0;
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    if (pending === 0) return;
    const count = pending;
    pending = 0;
    report(count);
  };
  const occurred = () => {
    pending++;
    if (timer) return;
    flush();
    // Occurrences until the timer fires are reported together then.
    timer = setTimeout(flush, intervalMs);
    timer.unref();
  };
  return Object.assign(occurred, {
    flush() {
      if (timer) clearTimeout(timer);
      flush();
    },
  });
}
