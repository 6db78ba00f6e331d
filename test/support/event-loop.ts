/** Watches the event loop with a 2 ms timer: `longest()` is the longest it went without running it. */
export function blockProbe() {
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 2);
  return {
    longest: () => longest,
    reset: () => {
      longest = 0;
    },
    stop: () => clearInterval(timer),
  };
}

/** The longest the event loop went without running a 2 ms timer while `work` ran. */
export async function longestBlock(work: () => Promise<unknown>): Promise<number> {
  const probe = blockProbe();
  try {
    await work();
    return probe.longest();
  } finally {
    probe.stop();
  }
}
