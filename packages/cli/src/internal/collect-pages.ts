import type { FileInfo, MlflowClient, Page } from '@mlflow-kit/core';

/** Follows pages of a search until there are none or `max` items are in hand (pages of at most 1000). */
export async function collectPages<T>(
  max: number,
  fetchPage: (request: { maxResults: number; pageToken?: string }) => Promise<Page<T>>,
): Promise<T[]> {
  const items: T[] = [];
  let pageToken: string | undefined;
  do {
    const page = await fetchPage({
      maxResults: Math.min(1000, max - items.length),
      ...(pageToken ? { pageToken } : {}),
    });
    items.push(...page.items);
    pageToken = page.nextPageToken;
  } while (pageToken && items.length < max);
  return items.slice(0, max);
}

/** Every artifact file of a run below `path`, directories expanded. */
export async function listArtifactFiles(
  client: MlflowClient,
  runId: string,
  path: string | undefined,
): Promise<FileInfo[]> {
  const files: FileInfo[] = [];
  for (const entry of await client.listArtifacts(runId, path)) {
    if (entry.isDir) files.push(...(await listArtifactFiles(client, runId, entry.path)));
    else files.push(entry);
  }
  return files;
}
