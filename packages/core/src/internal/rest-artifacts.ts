import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ArtifactSource } from '../store.js';
import type { FileInfo } from '../types.js';
import { readDirectoryIfExists } from './local-fs.js';
import {
  type ArtifactRoot,
  cleanRelativePath,
  encodeSegments,
  guessContentType,
  ProxyArtifacts,
  resolveArtifactRoot as resolveRoot,
} from './proxy-artifacts.js';

export { type ArtifactRoot, cleanRelativePath, guessContentType } from './proxy-artifacts.js';

/**
 * Maps an artifact root URI to where its bytes live, as MLflow's Python client does:
 * `mlflow-artifacts:/<p>` → `<tracking>/api/2.0/mlflow-artifacts/artifacts/<p>`, `http(s)://` roots used
 * as they are, `file://` roots and absolute paths read and written directly.
 */
export function resolveArtifactRoot(artifactUri: string, trackingUri: string): ArtifactRoot {
  return resolveRoot(artifactUri, trackingUri, fileURLToPath);
}

/** Artifact reads and writes for the REST store in Node: the proxied API, plus `file:` roots and file sources. */
export class RestArtifacts extends ProxyArtifacts {
  protected override root(artifactUri: string): ArtifactRoot {
    return resolveArtifactRoot(artifactUri, this.trackingUri);
  }

  /** Writes one file, streaming a file source rather than reading it whole. */
  override async upload(artifactUri: string, relativePath: string, source: ArtifactSource): Promise<void> {
    const rel = cleanRelativePath(relativePath);
    const root = this.root(artifactUri);
    if (!rel || (root.kind === 'http' && 'bytes' in source))
      return super.upload(artifactUri, relativePath, source);
    if (root.kind === 'file') {
      const target = join(root.path, ...rel.split('/'));
      await mkdir(dirname(target), { recursive: true });
      if ('bytes' in source) await writeFile(target, source.bytes);
      else await copyFile(source.file, target);
      return;
    }
    const file = (source as { file: string }).file;
    const contentType = guessContentType(rel);
    const { size } = await stat(file);
    await this.http.send({
      method: 'PUT',
      path: `${root.url}/${encodeSegments(rel)}`,
      body: () => ({ body: createReadStream(file), contentType, contentLength: size }),
    });
  }

  /** Lists one level under `relativePath`; paths come back relative to the artifact root. */
  override async list(artifactUri: string, relativePath = ''): Promise<FileInfo[]> {
    const root = this.root(artifactUri);
    if (root.kind !== 'file') return super.list(artifactUri, relativePath);
    const rel = cleanRelativePath(relativePath);
    const dir = rel ? join(root.path, ...rel.split('/')) : root.path;
    const entries = await readDirectoryIfExists(dir);
    const out: FileInfo[] = [];
    for (const entry of entries) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) out.push({ path, isDir: true });
      else out.push({ path, isDir: false, fileSize: (await stat(join(dir, entry.name))).size });
    }
    return out.sort((a, b) => a.path.localeCompare(b.path));
  }

  /** Reads one file whole. */
  override async download(artifactUri: string, relativePath: string): Promise<Uint8Array> {
    const root = this.root(artifactUri);
    if (root.kind !== 'file') return super.download(artifactUri, relativePath);
    const rel = cleanRelativePath(relativePath);
    return new Uint8Array(await readFile(join(root.path, ...rel.split('/'))));
  }
}
