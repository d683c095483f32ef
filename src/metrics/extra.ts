// Gauges that particular probe kinds publish beside the framework's own (see ProbeOutcome.samples).
// Declared here so /metrics always has their HELP and TYPE, and so no prober invents metric names at run time.
export const extraGauges: Record<string, { help: string; labelNames: string[] }> = {
  watchdog_container_memory_usage_bytes: { help: 'Container memory in use, computed as docker stats does (usage minus inactive file cache).', labelNames: ['container'] },
  watchdog_container_memory_limit_bytes: { help: 'Container memory limit from HostConfig.Memory (0 when none is set).', labelNames: ['container'] },
  watchdog_tempo_newest_trace_age_seconds: { help: 'Age of the newest trace found by a tempo_search probe.', labelNames: ['probe', 'service'] },
};
