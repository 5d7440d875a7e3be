import { MlflowKitError } from '../errors.js';
import type { ArtifactSource } from '../store.js';
import type { FileInfo } from '../types.js';
import type { RetryingHttpClient } from './http-core.js';
import { decodeFileInfo, type WireFileInfo } from './rest-codec.js';

/** The proxied artifact API under `/api/2.0`. */
export const PROXY_ENDPOINT = '/mlflow-artifacts/artifacts';

/** Where an artifact root lives: behind the server's artifact proxy, or on a local filesystem. */
export type ArtifactRoot = { kind: 'http'; url: string } | { kind: 'file'; path: string };

const CONTENT_TYPES: Record<string, string> = {
  '.json': 'application/json',
  '.txt': 'text/plain',
  '.log': 'text/plain',
  '.md': 'text/markdown',
  '.csv': 'text/csv',
  '.tsv': 'text/tab-separated-values',
  '.html': 'text/html',
  '.htm': 'text/html',
  '.yaml': 'application/x-yaml',
  '.yml': 'application/x-yaml',
  '.xml': 'application/xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.svg': 'image/svg+xml',
  '.webp': 'image/webp',
  '.pdf': 'application/pdf',
  '.zip': 'application/zip',
  '.gz': 'application/gzip',
  '.js': 'text/javascript',
  '.py': 'text/x-python',
  '.wasm': 'application/wasm',
};

/** The MIME type Python's `mimetypes.guess_type` would give, for common artifact files. */
export function guessContentType(path: string): string {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  return (dot > 0 && CONTENT_TYPES[name.slice(dot).toLowerCase()]) || 'application/octet-stream';
}

/** Normalises a relative artifact path and refuses ones that escape the root. */
export function cleanRelativePath(relativePath: string): string {
  const parts = relativePath.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..') || relativePath.includes('\0')) {
    throw new MlflowKitError(
      `Invalid artifact path "${relativePath}": it must stay inside the artifact root (no ".." segments).`,
    );
  }
  return parts.join('/');
}

/** Percent-encodes each segment of a relative path. */
export function encodeSegments(path: string): string {
  return path
    .split('/')
    .filter((part) => part !== '')
    .map(encodeURIComponent)
    .join('/');
}

/**
 * Maps an artifact root URI to where its bytes live, as MLflow's Python client does:
 * `mlflow-artifacts:/<p>` → `<tracking>/api/2.0/mlflow-artifacts/artifacts/<p>`, `http(s)://` roots used
 * as they are, `file://` roots and absolute paths read and written directly.
 */
export function resolveArtifactRoot(
  artifactUri: string,
  trackingUri: string,
  toPath: (fileUrl: string) => string = (url) => decodeURIComponent(new URL(url).pathname),
): ArtifactRoot {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(artifactUri)?.[1]?.toLowerCase();
  if (scheme === 'mlflow-artifacts') {
    const tracking = new URL(trackingUri);
    if (tracking.protocol !== 'http:' && tracking.protocol !== 'https:') {
      throw new MlflowKitError(
        `The artifact root ${artifactUri} needs an http(s) tracking URI, not ${trackingUri}.`,
      );
    }
    const rest = artifactUri.slice('mlflow-artifacts:'.length);
    let host = tracking.host;
    let path = rest;
    if (rest.startsWith('//')) {
      const slash = rest.indexOf('/', 2);
      host = (slash === -1 ? rest.slice(2) : rest.slice(2, slash)) || tracking.host;
      path = slash === -1 ? '' : rest.slice(slash);
    }
    const fullPath = `${tracking.pathname}/api/2.0${PROXY_ENDPOINT}/${path}`
      .replace(/\/{2,}/g, '/')
      .replace(/\/+$/, '');
    return { kind: 'http', url: `${tracking.protocol}//${host}${fullPath}` };
  }
  if (scheme === 'http' || scheme === 'https') return { kind: 'http', url: artifactUri.replace(/\/+$/, '') };
  if (scheme === 'file') return { kind: 'file', path: toPath(artifactUri) };
  if (scheme === undefined && artifactUri.startsWith('/')) return { kind: 'file', path: artifactUri };
  throw new MlflowKitError(
    `The artifact root ${artifactUri} uses the "${scheme ?? artifactUri}:" scheme, which mlflow-kit cannot write directly: ` +
      'start the tracking server with its artifact proxy (`mlflow server --serve-artifacts`, the default) so that new ' +
      'experiments get mlflow-artifacts:/ roots, or create the experiment with such an artifact location.',
  );
}

/**
 * Artifact reads and writes for the REST store through the server's proxied artifact API
 * (`mlflow-artifacts:/` roots and http(s) roots). Node's `RestArtifacts` adds `file:` roots and file sources.
 */
export class ProxyArtifacts {
  /** The transport, for subclasses. */
  protected readonly http: RetryingHttpClient;
  /** The tracking server's URI, without credentials. */
  protected readonly trackingUri: string;

  /**
   * @param http - the transport.
   * @param trackingUri - the tracking server's URI.
   */
  constructor(http: RetryingHttpClient, trackingUri: string) {
    this.http = http;
    this.trackingUri = trackingUri;
  }

  /** Where an artifact root lives (a subclass adds local paths). */
  protected root(artifactUri: string): ArtifactRoot {
    return resolveArtifactRoot(artifactUri, this.trackingUri);
  }

  /** Writes one file. */
  async upload(artifactUri: string, relativePath: string, source: ArtifactSource): Promise<void> {
    const rel = cleanRelativePath(relativePath);
    if (!rel) throw new MlflowKitError('An artifact needs a file name: the relative path is empty.');
    const root = this.root(artifactUri);
    if (root.kind === 'file' || !('bytes' in source)) {
      throw new MlflowKitError(
        `Artifact ${rel}: only bytes can be uploaded here, to an artifact root served by the MLflow artifact proxy (not ${artifactUri}).`,
      );
    }
    await this.uploadBytes(root.url, rel, source.bytes);
  }

  /** PUTs bytes to `<rootUrl>/<rel>`. */
  protected async uploadBytes(rootUrl: string, rel: string, bytes: Uint8Array): Promise<void> {
    const contentType = guessContentType(rel);
    await this.http.send({
      method: 'PUT',
      path: `${rootUrl}/${encodeSegments(rel)}`,
      body: () => ({ body: bytes, contentType, contentLength: bytes.byteLength }),
    });
  }

  /** Lists one level under `relativePath`; paths come back relative to the artifact root. */
  async list(artifactUri: string, relativePath = ''): Promise<FileInfo[]> {
    const rel = cleanRelativePath(relativePath);
    const root = this.root(artifactUri);
    if (root.kind === 'file')
      throw new MlflowKitError(`Cannot list ${artifactUri} here: it is a local path.`);
    const marker = root.url.indexOf(PROXY_ENDPOINT);
    if (marker === -1) {
      throw new MlflowKitError(
        `Cannot list artifacts under ${root.url}: listing needs an artifact root served by the MLflow artifact proxy (.../api/2.0/mlflow-artifacts/artifacts/...).`,
      );
    }
    const listUrl = root.url.slice(0, marker + PROXY_ENDPOINT.length);
    const tail = decodeURIComponent(root.url.slice(marker + PROXY_ENDPOINT.length)).replace(/^\/+/, '');
    const path = [tail, rel].filter(Boolean).join('/');
    const response = await this.http.json<{ files?: WireFileInfo[] }>('GET', listUrl, { path });
    return (response.files ?? [])
      .map((file) => decodeFileInfo(file, rel))
      .sort((a, b) => a.path.localeCompare(b.path));
  }

  /** Reads one file whole. */
  async download(artifactUri: string, relativePath: string): Promise<Uint8Array> {
    const rel = cleanRelativePath(relativePath);
    const root = this.root(artifactUri);
    if (root.kind === 'file')
      throw new MlflowKitError(`Cannot read ${artifactUri} here: it is a local path.`);
    const response = await this.http.send({ method: 'GET', path: `${root.url}/${encodeSegments(rel)}` });
    return response.body;
  }
}
