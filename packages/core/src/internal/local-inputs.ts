import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DatasetInput } from '../types.js';
import { dumpYaml, parseYaml } from './local-format.js';

// Datasets and run inputs as MLflow's FileStore keeps them (`file_store.py` `log_inputs`):
//   <experiment>/datasets/<md5(name + digest)>/meta.yaml       dict(Dataset)
//   <experiment>/<run>/inputs/<md5(dataset_id + run_id)>/meta.yaml  _FileStoreInput
// Written synchronously, so the spool can write them from exit handlers as well.

const md5 = (...parts: string[]): string => {
  const hash = createHash('md5');
  for (const part of parts) hash.update(part, 'utf8');
  return hash.digest('hex');
};

function writeAtomicSync(path: string, text: string): void {
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, text);
  renameSync(temp, path);
}

/**
 * Writes dataset inputs of the run in `runDir` (a folder of its experiment's folder) in FileStore layout.
 * As in FileStore, a dataset or input already there is left as it is.
 */
export function writeDatasetInputsSync(runDir: string, runId: string, inputs: DatasetInput[]): void {
  const experimentDir = dirname(runDir);
  for (const input of inputs) {
    const { dataset } = input;
    const datasetId = md5(dataset.name, dataset.digest);
    const datasetDir = join(experimentDir, 'datasets', datasetId);
    if (!existsSync(join(datasetDir, 'meta.yaml'))) {
      mkdirSync(datasetDir, { recursive: true });
      writeAtomicSync(
        join(datasetDir, 'meta.yaml'),
        dumpYaml({
          digest: dataset.digest,
          name: dataset.name,
          profile: dataset.profile ?? null,
          schema: dataset.schema ?? null,
          source: dataset.source,
          source_type: dataset.sourceType,
        }),
      );
    }
    const inputDir = join(runDir, 'inputs', md5(datasetId, runId));
    if (existsSync(join(inputDir, 'meta.yaml'))) continue;
    mkdirSync(inputDir, { recursive: true });
    writeAtomicSync(
      join(inputDir, 'meta.yaml'),
      dumpYaml({
        // FileStore writes the source id here too (`_FileStoreInput.write_yaml`); its reader ignores it.
        destination_id: datasetId,
        destination_type: 'RUN',
        source_id: datasetId,
        source_type: 'DATASET',
        tags: { ...input.tags },
      }),
    );
  }
}

const text = (value: unknown): string | undefined =>
  value === null || value === undefined ? undefined : String(value);

/** Reads the dataset inputs of the run in `runDir`, written by us or by MLflow's FileStore. */
export function readDatasetInputsSync(runDir: string): DatasetInput[] {
  const inputsDir = join(runDir, 'inputs');
  if (!existsSync(inputsDir)) return [];
  const out: DatasetInput[] = [];
  for (const entry of readdirSync(inputsDir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    let meta: Record<string, unknown>;
    try {
      meta = parseYaml(readFileSync(join(inputsDir, entry.name, 'meta.yaml'), 'utf8'));
    } catch {
      continue;
    }
    if (meta.source_type !== 'DATASET') continue;
    let dataset: Record<string, unknown>;
    try {
      const path = join(dirname(runDir), 'datasets', String(meta.source_id), 'meta.yaml');
      dataset = parseYaml(readFileSync(path, 'utf8'));
    } catch {
      continue;
    }
    const tags: Record<string, string> = {};
    if (typeof meta.tags === 'object' && meta.tags !== null)
      for (const [key, value] of Object.entries(meta.tags)) tags[key] = String(value);
    out.push({
      tags,
      dataset: {
        name: String(dataset.name ?? ''),
        digest: String(dataset.digest ?? ''),
        sourceType: String(dataset.source_type ?? ''),
        source: String(dataset.source ?? ''),
        schema: text(dataset.schema),
        profile: text(dataset.profile),
      },
    });
  }
  return out.sort((a, b) =>
    `${a.dataset.name}/${a.dataset.digest}`.localeCompare(`${b.dataset.name}/${b.dataset.digest}`),
  );
}
