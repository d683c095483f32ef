// The one error a config load ends in: every problem found, one line each (file, probe, field).

export class ConfigError extends Error {
  /** The content hash of the files refused, when they were read: a reload then need not read them again to remember them. */
  hash?: string;
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}
