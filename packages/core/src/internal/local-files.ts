import { readdir, stat } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { MlflowKitError } from '../errors.js';

/** A local file to upload: its path on disk and its path relative to what the caller named. */
export interface LocalFile {
  path: string;
  relativePath: string;
}

/**
 * How a run reads files from the local disk for `logArtifact(path)` and `logArtifacts(dir)`. The Node entry
 * passes {@link NODE_LOCAL_FILES}; a page has no disk, and a run there refuses those two calls.
 */
export interface LocalFiles {
  /** The one file at `localPath`, or a {@link MlflowKitError} saying why it cannot be read. */
  file(localPath: string): Promise<LocalFile>;
  /** Every file under `localDir`, at any depth. */
  directory(localDir: string): Promise<LocalFile[]>;
}

/** {@link LocalFiles} over `node:fs`. */
export const NODE_LOCAL_FILES: LocalFiles = {
  async file(localPath) {
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(localPath);
    } catch (cause) {
      throw new MlflowKitError(
        `logArtifact cannot read the local file ${localPath} (${(cause as NodeJS.ErrnoException).code ?? 'unreadable'}): pass the path of an existing file.`,
        { cause },
      );
    }
    if (info.isDirectory()) {
      throw new MlflowKitError(
        `${localPath} is a directory: use logArtifacts(dir, artifactPath) to upload a directory.`,
      );
    }
    return { path: localPath, relativePath: basename(localPath) };
  },
  async directory(localDir) {
    const entries = await readdir(localDir, { recursive: true, withFileTypes: true });
    return entries
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name))
      .map((path) => ({ path, relativePath: relative(localDir, path).split('\\').join('/') }));
  },
};
