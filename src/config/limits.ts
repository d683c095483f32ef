// What one config load may cost. A YAML file is parsed on the event loop: at ~1 MiB of small nodes
// the parse alone blocks it for seconds and takes hundreds of MiB (bench/config-load.ts), so size
// is checked before reading and the node count right after parsing, before anything is built.
export interface ConfigLimits {
  /** Bytes of YAML per load (all files of a folder together). */
  maxBytes: number;
  /** YAML nodes per file (scalars, mappings, sequences, aliases). */
  maxNodes: number;
}

/** A probe is ~100 bytes and ~10 nodes: the defaults hold a 1,000-probe config twice over. */
export const defaultConfigLimits: ConfigLimits = { maxBytes: 256 * 1024, maxNodes: 50_000 };

/** Aliases expanded per file: YAML anchors are for a few shared blocks, not for building bombs. */
export const maxAliasCount = 100;
