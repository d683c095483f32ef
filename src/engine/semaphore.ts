// Bounds how many probes run at once, so a config with fifty probes cannot open fifty sockets at the same instant.
// p-limit hands a freed slot straight to the next caller in line, so one arriving just after a release waits its turn.
import pLimit, { type LimitFunction } from 'p-limit';

export class Semaphore {
  private readonly limit: LimitFunction;
  constructor(limit: number) {
    this.limit = pLimit(limit);
  }

  use<T>(fn: () => Promise<T>): Promise<T> {
    return this.limit(fn);
  }
}
