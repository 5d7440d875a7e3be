import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { type FileInfo, type MlflowClient, MlflowKitError, type TrackingOptions } from '@mlflow-kit/core';
import { orNotFound, withClient } from './internal/client-session.js';
import { listArtifactFiles } from './internal/collect-pages.js';

/** Options of {@link listRunArtifacts}. */
export interface ListArtifactsOptions extends Omit<TrackingOptions, 'enabled'> {
  /** List every file below `path`, not one level. @defaultValue false */
  recursive?: boolean;
}

async function runExists(client: MlflowClient, runId: string): Promise<void> {
  await orNotFound(
    client.getRun(runId),
    `No run ${runId} at ${client.settings.trackingUri}: find run ids with \`mlflow-kit runs list\` (or pass --tracking-uri).`,
  );
}

/**
 * Lists a run's artifacts under `path` (the root by default): one level, or every file with `recursive`.
 * A missing run is an `MlflowKitError`.
 *
 * @example
 * ```ts
 * import { listRunArtifacts } from '@mlflow-kit/cli';
 * for (const file of await listRunArtifacts(runId, 'model')) console.log(file.path, file.fileSize);
 * ```
 */
export async function listRunArtifacts(
  runId: string,
  path?: string,
  options: ListArtifactsOptions = {},
): Promise<FileInfo[]> {
  const { recursive = false, ...tracking } = options;
  return withClient(tracking, async (client) => {
    await runExists(client, runId);
    return recursive ? listArtifactFiles(client, runId, path) : client.listArtifacts(runId, path);
  });
}

/** Formats an artifact listing as `mlflow-kit artifacts list` prints it. */
export function formatArtifactList(files: FileInfo[]): string {
  if (files.length === 0) return 'No artifacts.';
  const width = Math.max(...files.map((file) => file.path.length + (file.isDir ? 1 : 0)));
  return files
    .map((file) =>
      file.isDir ? `${file.path}/` : `${file.path.padEnd(width)}  ${file.fileSize ?? ''}`.trimEnd(),
    )
    .join('\n');
}

/** Options of {@link downloadRunArtifacts}. */
export interface DownloadArtifactsOptions extends Omit<TrackingOptions, 'enabled'> {
  /** The local directory to write into; the artifact keeps its path below it. @defaultValue the current directory */
  dst?: string;
}

/** The result of {@link downloadRunArtifacts}. */
export interface DownloadedArtifacts {
  /** The local path of the downloaded file or directory. */
  localPath: string;
  /** The files written, as local paths. */
  files: string[];
  bytes: number;
}

/**
 * Downloads a run's artifact file, or a directory of them (the whole run when `path` is empty), into
 * `dst`, keeping the artifact paths. A missing run or path is an `MlflowKitError` that says how to list
 * what exists.
 *
 * @example
 * ```ts
 * import { downloadRunArtifacts } from '@mlflow-kit/cli';
 * const { localPath } = await downloadRunArtifacts(runId, 'model', { dst: './downloaded' });
 * ```
 */
export async function downloadRunArtifacts(
  runId: string,
  path = '',
  options: DownloadArtifactsOptions = {},
): Promise<DownloadedArtifacts> {
  const { dst = '.', ...tracking } = options;
  const clean = path.replace(/^\/+|\/+$/g, '');
  if (clean.split('/').includes('..')) {
    throw new MlflowKitError(
      `The artifact path ${JSON.stringify(path)} may not contain "..": pass a path inside the run.`,
    );
  }
  return withClient(tracking, async (client) => {
    await runExists(client, runId);
    let files: FileInfo[];
    if (clean === '') files = await listArtifactFiles(client, runId, undefined);
    else {
      const parent = clean.includes('/') ? clean.slice(0, clean.lastIndexOf('/')) : undefined;
      const entry = (await client.listArtifacts(runId, parent)).find((file) => file.path === clean);
      if (!entry) {
        throw new MlflowKitError(
          `Run ${runId} has no artifact ${JSON.stringify(clean)}: see what it has with \`mlflow-kit artifacts list ${runId}${parent ? ` ${parent}` : ''}\`.`,
        );
      }
      files = entry.isDir ? await listArtifactFiles(client, runId, clean) : [entry];
    }
    const root = resolve(dst);
    const written: string[] = [];
    let bytes = 0;
    for (const file of files) {
      const target = join(root, file.path);
      const content = await client.downloadArtifact(runId, file.path);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, content);
      written.push(target);
      bytes += content.byteLength;
    }
    return { localPath: clean === '' ? root : join(root, clean), files: written, bytes };
  });
}
