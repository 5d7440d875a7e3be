import { copyFile, mkdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { isAbsolute, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ArtifactSource } from '../store.js';
import type { FileInfo } from '../types.js';
import { isErrno, readDirectoryIfExists, tempPathFor, writeFileAtomic } from './local-fs.js';
import { localApiError, localNotFound, TEMP_FILE } from './local-layout.js';

/** The file path of `relativePath` under a `file:` (or absolute) artifact root; refuses paths that leave it. */
function artifactPath(operation: string, artifactUri: string, relativePath = ''): string {
  let root: string;
  if (artifactUri.startsWith('file:')) root = fileURLToPath(artifactUri);
  else if (isAbsolute(artifactUri)) root = artifactUri;
  else {
    throw localApiError(
      operation,
      'INVALID_PARAMETER_VALUE',
      `The local store reads and writes only file: artifact URIs, not ${artifactUri}; use a tracking server for remote artifact stores.`,
    );
  }
  if (relativePath === '' || relativePath === '.') return root;
  const normalized = posix.normalize(relativePath.replace(/\\/g, '/'));
  if (normalized.startsWith('/') || normalized === '..' || normalized.startsWith('../')) {
    throw localApiError(
      operation,
      'INVALID_PARAMETER_VALUE',
      `Invalid artifact path ${JSON.stringify(relativePath)}: it must stay inside the artifact root.`,
    );
  }
  return join(root, ...normalized.split('/').filter((part) => part !== '' && part !== '.'));
}

/** `LocalStore.uploadArtifact`. */
export async function uploadArtifact(
  artifactUri: string,
  relativePath: string,
  source: ArtifactSource,
): Promise<void> {
  const target = artifactPath('uploadArtifact', artifactUri, relativePath);
  if (target === artifactPath('uploadArtifact', artifactUri)) {
    throw localApiError(
      'uploadArtifact',
      'INVALID_PARAMETER_VALUE',
      'An artifact needs a file name: the relative path is empty.',
    );
  }
  await mkdir(join(target, '..'), { recursive: true });
  if ('bytes' in source) {
    await writeFileAtomic(target, source.bytes);
    return;
  }
  const temp = tempPathFor(target);
  try {
    await copyFile(source.file, temp);
    await rename(temp, target);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}

/** `LocalStore.listArtifacts`. */
export async function listArtifacts(artifactUri: string, relativePath?: string): Promise<FileInfo[]> {
  const directory = artifactPath('listArtifacts', artifactUri, relativePath);
  const entries = await readDirectoryIfExists(directory);
  const prefix = relativePath
    ? posix.normalize(relativePath.replace(/\\/g, '/')).replace(/^\.\/?|\/+$/g, '')
    : '';
  const infos: FileInfo[] = [];
  for (const entry of entries) {
    if (TEMP_FILE.test(entry.name)) continue;
    const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) infos.push({ path, isDir: true });
    else if (entry.isFile())
      infos.push({ path, isDir: false, fileSize: (await stat(join(directory, entry.name))).size });
  }
  return infos.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** `LocalStore.downloadArtifact`. */
export async function downloadArtifact(artifactUri: string, relativePath: string): Promise<Uint8Array> {
  const target = artifactPath('downloadArtifact', artifactUri, relativePath);
  try {
    return new Uint8Array(await readFile(target));
  } catch (error) {
    if (isErrno(error, 'ENOENT') || isErrno(error, 'EISDIR'))
      throw localNotFound('downloadArtifact', `No artifact at ${relativePath}`);
    throw error;
  }
}
