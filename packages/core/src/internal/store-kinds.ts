import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MlflowConfigError } from '../errors.js';
import { redactUrl } from '../redact.js';

/** A tracking URI taken apart by the kind of store it selects. */
export interface ResolvedStoreUri {
  /** The URI to show and key stores by: credentials removed, a local path made an absolute `file:` URI. */
  trackingUri: string;
  /** Absolute directory, for a local store. */
  localPath?: string;
  /** Basic-auth user found in the URI's user-info. */
  username?: string;
  /** Basic-auth password found in the URI's user-info. */
  password?: string;
}

/** One kind of store a tracking URI can select. */
interface StoreKindEntry<Kind extends string> {
  readonly kind: Kind;
  /** What the kind is called in messages. */
  readonly label: string;
  /** Normalises a URI of this kind; `scheme` is its lower-case scheme, `undefined` for a plain path. */
  resolveUri(uri: string, scheme: string | undefined): ResolvedStoreUri;
}

const REST: StoreKindEntry<'rest'> = {
  kind: 'rest',
  label: 'tracking server',
  resolveUri(uri) {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      // The parser's own error keeps the whole URI (password included) in `input`: leave it out.
      throw new MlflowConfigError(
        `The tracking URI ${redactUrl(uri)} is not a valid URL: pass \`trackingUri\` or set MLFLOW_TRACKING_URI to http(s)://host:port (a password holding / ? # or @ must be percent-encoded, or passed as MLFLOW_TRACKING_PASSWORD).`,
        { setting: 'trackingUri' },
      );
    }
    const resolved: ResolvedStoreUri = { trackingUri: '' };
    if (url.username || url.password) {
      // Credentials in the URI are honoured but never kept in the URI we show.
      resolved.username = decodeURIComponent(url.username);
      resolved.password = decodeURIComponent(url.password);
      url.username = '';
      url.password = '';
    }
    resolved.trackingUri = url.toString().replace(/\/+$/, '');
    return resolved;
  },
};

const LOCAL: StoreKindEntry<'local'> = {
  kind: 'local',
  label: 'local store',
  resolveUri(uri, scheme) {
    const path = scheme === 'file' ? new URL(uri).pathname : uri;
    const localPath = resolve(path.startsWith('~') ? path.replace(/^~/, homedir()) : path);
    return { trackingUri: pathToFileURL(localPath).href, localPath };
  },
};

/**
 * Every store kind, keyed by the URI scheme that selects it. A URI without a scheme (a path, or a
 * Windows drive letter) selects the local store. Adding a kind of store means adding a row here (and its
 * store to `STORES` in `store-factory.ts`, which the type checker then asks for).
 */
const STORE_KINDS_BY_SCHEME = {
  http: REST,
  https: REST,
  file: LOCAL,
} as const satisfies Record<string, StoreKindEntry<string>>;

type Entry = (typeof STORE_KINDS_BY_SCHEME)[keyof typeof STORE_KINDS_BY_SCHEME];

/** The kinds of store a tracking URI can select: `rest` or `local`. */
export type UriStoreKind = Entry['kind'];

function entryFor(uri: string): { entry: Entry; scheme: string | undefined } {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1]?.toLowerCase();
  if (scheme === undefined || (scheme.length === 1 && process.platform === 'win32'))
    return { entry: LOCAL, scheme: undefined };
  const entry: Entry | undefined = STORE_KINDS_BY_SCHEME[scheme as keyof typeof STORE_KINDS_BY_SCHEME];
  if (entry === undefined) {
    throw new MlflowConfigError(
      `The tracking URI scheme "${scheme}:" is not supported by mlflow-kit: use http(s):// for an MLflow server ` +
        `(for a SQL database, run \`mlflow server --backend-store-uri ${scheme}:...\` and point at it), or a path / file: URI for the local store.`,
      { setting: 'trackingUri' },
    );
  }
  return { entry, scheme };
}

/**
 * Finds the store kind of a tracking URI in the table and normalises the URI. Throws
 * {@link MlflowConfigError} for a scheme no store serves or a malformed URL.
 */
export function resolveStoreUri(uri: string): ResolvedStoreUri & { kind: UriStoreKind } {
  const { entry, scheme } = entryFor(uri);
  return { kind: entry.kind, ...entry.resolveUri(uri, scheme) };
}
