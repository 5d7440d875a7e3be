import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { type StartRunOptions, startRun, withRun } from '@mlflow-kit/core';
import {
  smallClassifier as classifier,
  trainingData as data,
  useWasm,
} from '@mlflow-kit/test-support/test-models';
import { autolog, logModel, mlflowCallback } from '@mlflow-kit/tfjs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MlflowUi } from '../helpers/mlflow-ui.js';
import { startMlflow2Proxy } from '../helpers/mlflow2-proxy.js';
import { python, trackingUri, uniqueName } from '../helpers/python.js';
import { type MlflowServer, startMlflowServer } from '../setup/mlflow-env.js';

interface UiReads {
  experimentId: string;
  /** `run.outputs.model_outputs`: what the UI's run page asks the server for (GraphQL `GetRun`). */
  outputs: string[];
  /** The UI's next request: `search_logged_models` with `attributes.model_id IN (...)`. */
  found: { id: string; name: string; status: string; tags: Record<string, string> }[];
  runSource: string;
  systemMetrics: string[];
}

/** What the official Python client reads where the run page and the Models tab read. */
function readAsTheUi(runId: string, env: Record<string, string> = {}): Promise<UiReads> {
  return python<UiReads>(
    `
import json
from mlflow.tracking import MlflowClient
c = MlflowClient()
r = c.get_run("${runId}")
ids = [o.model_id for o in r.outputs.model_outputs]
found = c.search_logged_models(experiment_ids=[r.info.experiment_id],
  filter_string="attributes.model_id IN (" + ",".join("'" + i + "'" for i in ids) + ")") if ids else []
print(json.dumps({"experimentId": r.info.experiment_id, "outputs": ids,
  "found": [{"id": m.model_id, "name": m.name, "status": str(m.status), "tags": m.tags} for m in found],
  "runSource": r.data.tags.get("mlflow.source.name", ""),
  "systemMetrics": sorted(k for k in r.data.metrics if k.startswith("system/"))}))
`,
    { MLFLOW_DISABLE_TELEMETRY: 'true', ...env },
  );
}

/** Trains the small classifier with autolog on, in a run that samples system metrics five times a second. */
async function trainWithAutolog(options: StartRunOptions): Promise<string> {
  const experimentName = uniqueName('ui');
  const disable = autolog({ tf, ...options, experimentName });
  try {
    const run = await withRun(
      {
        ...options,
        experimentName,
        logSystemMetrics: true,
        systemMetricsSamplingInterval: 0.2,
      },
      async (active) => {
        const { xs, ys } = data();
        await classifier().fit(xs, ys, { epochs: 3, batchSize: 16, validationSplit: 0.25 });
        // Long enough for a few samples of the system metrics.
        await sleep(500);
        return active;
      },
    );
    return run.runId;
  } finally {
    disable();
  }
}

const baseName = (path: string): string => path.split(/[\\/]/).pop() ?? path;

describe('the official MLflow 3 UI (headless Chromium) shows a tfjs run as it shows a Keras run', () => {
  let ui: MlflowUi;
  const dir = mkdtempSync(join(tmpdir(), 'mlflow-kit-ui-'));
  let fileStoreServer: Promise<MlflowServer> | undefined;
  beforeAll(async () => {
    // The FileStore server starts while the REST test runs; its test awaits it.
    fileStoreServer = startMlflowServer({
      backendStoreUri: join(dir, 'mlruns'),
      env: { MLFLOW_ALLOW_FILE_STORE: 'true' },
    });
    fileStoreServer.catch(() => {});
    await useWasm();
    // A fresh machine may install Chromium here first.
    ui = await MlflowUi.launch();
  }, 600_000);
  afterAll(async () => {
    await ui?.close();
    await (await fileStoreServer?.catch(() => undefined))?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('REST store: the run page lists the logged model, the Models tab shows it with its source, and the System metrics tab charts system/*', async () => {
    const runId = await trainWithAutolog({ enabled: true, trackingUri: trackingUri() });
    const seen = await readAsTheUi(runId);
    expect(seen.outputs).toHaveLength(1);
    const modelId = seen.outputs[0]!;
    expect(seen.found).toEqual([
      expect.objectContaining({ id: modelId, name: 'model', status: expect.stringMatching(/READY/) }),
    ]);
    expect(seen.found[0]!.tags['mlflow.source.name']).toBe(seen.runSource);
    expect(seen.systemMetrics).toEqual(
      expect.arrayContaining(['system/cpu_utilization_percentage', 'system/system_memory_usage_megabytes']),
    );

    const base = `${trackingUri()}/#/experiments/${seen.experimentId}`;
    const runPage = await ui.view(`${base}/runs/${runId}`, {
      waitFor: ['Logged models (1)', 'Ready'],
      scrollTo: 'Logged models (1)',
      screenshot: 'rest-run-page',
    });
    expect(runPage.text).not.toMatch(/Logged models\s*\n\s*—/);
    expect(runPage.links).toContain(`#/experiments/${seen.experimentId}/models/${modelId}`);

    const modelsTab = await ui.view(`${base}/models`, {
      waitFor: ['Logged from', 'Ready', baseName(seen.runSource)],
      screenshot: 'rest-models-tab',
    });
    expect(modelsTab.links).toContain(`#/experiments/${seen.experimentId}/models/${modelId}`);

    const systemTab = await ui.view(`${base}/runs/${runId}/system-metrics`, {
      // A chart shows its latest value once its points are loaded.
      waitFor: [/cpu_utilization_percentage\n\d/, /system_memory_usage_megabytes\n\d/],
      screenshot: 'rest-system-metrics-tab',
    });
    expect(systemTab.text).not.toContain('No metrics');
  });

  describe('local store (./mlruns) served by `mlflow server --backend-store-uri`', () => {
    let server: MlflowServer;
    beforeAll(async () => {
      server = await fileStoreServer!;
    });

    it('the run page lists the logged model and the Models tab shows it', async () => {
      const runId = await trainWithAutolog({
        enabled: true,
        trackingUri: pathToFileURL(join(dir, 'mlruns')).href,
      });
      const seen = await readAsTheUi(runId, { MLFLOW_TRACKING_URI: server.uri });
      expect(seen.outputs).toHaveLength(1);
      const modelId = seen.outputs[0]!;
      expect(seen.found).toEqual([expect.objectContaining({ id: modelId, name: 'model' })]);

      const base = `${server.uri}/#/experiments/${seen.experimentId}`;
      const runPage = await ui.view(`${base}/runs/${runId}`, {
        waitFor: ['Logged models (1)', 'Ready'],
        scrollTo: 'Logged models (1)',
        screenshot: 'local-run-page',
      });
      expect(runPage.links).toContain(`#/experiments/${seen.experimentId}/models/${modelId}`);
      await ui.view(`${base}/models`, {
        waitFor: ['Logged from', 'Ready', baseName(seen.runSource)],
        screenshot: 'local-models-tab',
      });
      await ui.view(`${base}/runs/${runId}/system-metrics`, {
        waitFor: [/cpu_utilization_percentage\n\d/],
        screenshot: 'local-system-metrics-tab',
      });
    });
  });

  it("a server before MLflow 3: the run page's Logged models row names the tfjs model kept in the run's artifacts", async () => {
    const proxy = await startMlflow2Proxy(trackingUri());
    try {
      const run = await startRun({
        enabled: true,
        trackingUri: proxy.uri,
        experimentName: uniqueName('ui-v2'),
      });
      const model = classifier();
      const { xs, ys } = data();
      await model.fit(xs, ys, { epochs: 2, callbacks: mlflowCallback({ tf, run, logModel: false }) });
      const info = await logModel(run, model, 'model', { tf });
      await run.end();
      expect(proxy.refused).toBeGreaterThan(0);
      expect(info?.modelId).toBeUndefined();
      const history = await python<{ artifact_path: string; flavors: Record<string, unknown> }[]>(
        `
import json
from mlflow.tracking import MlflowClient
print(MlflowClient().get_run("${run.runId}").data.tags["mlflow.log-model.history"])
`,
        { MLFLOW_DISABLE_TELEMETRY: 'true' },
      );
      expect(history).toEqual([
        expect.objectContaining({
          artifact_path: 'model',
          flavors: expect.objectContaining({ tfjs: expect.anything() }),
        }),
      ]);

      const runPage = await ui.view(`${trackingUri()}/#/experiments/${run.experimentId}/runs/${run.runId}`, {
        waitFor: ['Logged models', 'tfjs'],
        screenshot: 'mlflow2-run-page',
      });
      expect(runPage.text).not.toMatch(/Logged models\s*\n\s*—/);
      expect(runPage.links).toContain(`#/experiments/${run.experimentId}/runs/${run.runId}/artifacts/model`);
    } finally {
      await proxy.close();
    }
  });
});
