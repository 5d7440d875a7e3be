/** The parts of the user's `tf` module used for version and backend tags. */
export interface TfjsInfoSource {
  version?: Record<string, string | undefined> | undefined;
  version_layers?: string | undefined;
  getBackend?: (() => string) | undefined;
}

/** The tfjs version: `tf.version.tfjs`, else the layers version (tfjs-node reports both). */
export function tfjsVersion(tf: TfjsInfoSource | undefined): string | undefined {
  return tf?.version?.tfjs ?? tf?.version?.['tfjs-layers'] ?? tf?.version_layers;
}

/**
 * The active backend (`wasm`, `tensorflow` for tfjs-node, `webgl`, `cpu`). Without the `tf` module it is read
 * from tfjs' global engine, which every copy of tfjs-core registers.
 */
export function tfjsBackend(tf: TfjsInfoSource | undefined): string | undefined {
  try {
    if (typeof tf?.getBackend === 'function') return tf.getBackend();
    const engine = (globalThis as { _tfengine?: { backendName?: string } })._tfengine;
    return engine?.backendName ?? undefined;
  } catch {
    return undefined;
  }
}
