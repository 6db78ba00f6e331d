/**
 * Runs the tasks given the same key one after the other, in the order they were given; different keys run
 * concurrently. A task starts once the previous one of its key has settled, whether it succeeded or failed.
 *
 * The PostgreSQL incident repository runs every write of one incident through it. The row lock alone orders the
 * commits, but the acknowledgements can reach this process in another order (the database releases the lock a
 * moment before it answers the COMMIT), and the service publishes an event when the acknowledgement arrives.
 * Queued here, the next write of an incident begins only after the previous one's result has been handed back,
 * so this process publishes one incident's events in commit order, as the SQLite backend does. Waiting writers
 * also wait here rather than on the row lock, so they do not hold pooled connections meanwhile.
 */
export function serialByKey<K>() {
  const tails = new Map<K, Promise<void>>();
  return <T>(key: K, task: () => Promise<T>): Promise<T> => {
    const run = (tails.get(key) ?? Promise.resolve()).then(task);
    const tail = run.then(
      () => {},
      () => {},
    );
    tails.set(key, tail);
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
    return run;
  };
}
