// Bounds how many probes run at once, so a config with fifty probes cannot open fifty sockets at the same instant.
// p-queue does the queueing: a freed slot goes to the best waiting caller before a newcomer can take it,
// callers queue by priority and in arrival order within one priority. The engine puts probes whose last run
// was quick ahead of those that have not run yet, so neither waits behind the other's backlog.
import PQueue from 'p-queue';

/** Who goes first when callers wait (higher first, as p-queue counts): probes with a result before probes that have none yet. */
export const Priority = { known: 1, first: 0 } as const;
export type Priority = (typeof Priority)[keyof typeof Priority];

export class Semaphore {
  private readonly queue: PQueue;

  constructor(limit: number) {
    this.queue = new PQueue({ concurrency: limit });
  }

  /** Runs fn once a slot is free; its promise settles as fn's does, and the slot is freed either way. */
  use<T>(fn: () => Promise<T>, priority: Priority = Priority.known): Promise<T> {
    return this.queue.add(fn, { priority });
  }
}
