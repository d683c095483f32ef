// Bounds how many probes run at once, so a config with fifty probes cannot open fifty sockets at the same instant.
// A freed slot is handed straight to the next caller in line, so one arriving just after a release waits its turn.
// Callers queue by priority (0 first), in arrival order within one priority: the engine puts probes
// whose last run was quick ahead of those that have not run yet, so neither waits behind the other's backlog.
export class Semaphore {
  private active = 0;
  private readonly queues: (() => void)[][] = [[], [], []];

  constructor(private readonly limit: number) {}

  async use<T>(fn: () => Promise<T>, priority = 0): Promise<T> {
    if (this.active < this.limit) this.active++;
    else await new Promise<void>((resolve) => this.queues[Math.max(0, Math.min(priority, this.queues.length - 1))]!.push(resolve));
    try {
      return await fn();
    } finally {
      const next = this.queues.find((q) => q.length)?.shift();
      // The slot passes to the next caller as it is; only when nobody waits is it freed.
      if (next) next();
      else this.active--;
    }
  }
}
