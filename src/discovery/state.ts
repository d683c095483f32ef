// What discovery publishes: its last report, read through DiscoveryState by /status, /metrics and
// `watchdog check`. Discovery owns it; the engine only receives the probes (Engine.setDiscovered).

/** What container discovery last reported. */
export interface DiscoveryStatus {
  /** ok: the last listing worked; stale: it failed and the last set seen is kept; pending: never listed yet. */
  status: 'ok' | 'stale' | 'pending';
  message: string;
  endpoint: string;
  /** ms since the epoch, or null. */
  lastSuccess: number | null;
  lastAttempt: number | null;
  /** Containers the labels matched at the last successful listing (before the ignore rules). */
  containers: number;
  /** Names of the discovered probes in the engine. */
  probes: string[];
}

/** The reader the views take: undefined without a discover block. */
export interface DiscoveryState {
  current(): DiscoveryStatus | undefined;
}
