import { downloadRunArtifacts, formatArtifactList, listRunArtifacts } from '../artifacts.js';
import { formatDoctorReport, runDoctor } from '../doctor.js';
import { formatExperimentsTable, listExperiments } from '../experiments.js';
import {
  formatModelDetails,
  formatModelsTable,
  getModelDetails,
  listModels,
  setModelAlias,
} from '../models.js';
import { formatRunDetails, formatRunsTable, getRunDetails, listRuns } from '../runs.js';
import { serveModel } from '../serve.js';
import { formatSyncSummary, syncLocalRuns } from '../sync.js';
import {
  type CommandSpec,
  type OptionSpec,
  type OptionValues,
  positiveInteger,
  UsageError,
} from './command-line.js';

const TRACKING_URI: OptionSpec = {
  type: 'string',
  value: '<uri>',
  description: 'Tracking server or local store (default: MLFLOW_TRACKING_URI, else ./mlruns)',
};
const JSON_OUTPUT: OptionSpec = { type: 'boolean', description: 'Print JSON instead of text' };

function tracking(values: OptionValues): { trackingUri?: string } {
  return typeof values['tracking-uri'] === 'string' ? { trackingUri: values['tracking-uri'] } : {};
}

function string(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

function strings(values: OptionValues, name: string): string[] | undefined {
  const value = values[name];
  return Array.isArray(value) && value.length > 0 ? value : undefined;
}

function json(value: unknown): string {
  return `${JSON.stringify(value, (_key, item: unknown) =>
    typeof item === 'number' && !Number.isFinite(item) ? String(item) : item,
  )}\n`;
}

function help(path: string): string {
  return `mlflow-kit ${path} --help`;
}

const VIEW_TYPES = { active: 'ACTIVE_ONLY', deleted: 'DELETED_ONLY', all: 'ALL' } as const;

/** Every command of `mlflow-kit`, in the order the help lists them. */
export const COMMANDS: CommandSpec[] = [
  {
    path: ['runs', 'list'],
    positionals: [0, 0],
    summary: 'List runs, newest first.',
    options: {
      experiment: {
        type: 'string',
        short: 'e',
        value: '<name|id>',
        description: 'Only runs of this experiment',
      },
      filter: {
        type: 'string',
        value: '<filter>',
        description: 'MLflow filter, e.g. "metrics.loss < 0.5 and params.lr = \'0.01\'"',
      },
      'order-by': {
        type: 'string',
        multiple: true,
        value: '<clause>',
        description: 'MLflow order, e.g. "metrics.loss ASC" (default "start_time DESC")',
      },
      max: { type: 'string', value: '<n>', description: 'At most n runs (default 100)' },
      'max-results': { type: 'string', value: '<n>', description: 'Same as --max' },
      'tracking-uri': TRACKING_URI,
      json: JSON_OUTPUT,
    },
    examples: [
      'mlflow-kit runs list --experiment iris --filter "metrics.val_acc > 0.9" --order-by "metrics.val_acc DESC" --max 5',
    ],
    async run(values, _positionals, io) {
      const maxResults =
        positiveInteger('max', values.max, help('runs list')) ??
        positiveInteger('max-results', values['max-results'], help('runs list'));
      const experiment = string(values, 'experiment');
      const filter = string(values, 'filter');
      const orderBy = strings(values, 'order-by');
      const runs = await listRuns({
        ...tracking(values),
        ...(experiment !== undefined ? { experimentName: experiment } : {}),
        ...(filter !== undefined ? { filter } : {}),
        ...(orderBy ? { orderBy } : {}),
        ...(maxResults !== undefined ? { maxResults } : {}),
      });
      io.out(values.json ? json(runs) : `${formatRunsTable(runs)}\n`);
      return 0;
    },
  },
  {
    path: ['runs', 'show'],
    args: '<run-id>',
    positionals: [1, 1],
    summary: 'Show a run: params, tags, artifacts, and a chart of each metric drawn in the terminal.',
    description:
      'Charts are drawn with braille characters and fill the terminal width (80 columns when the output is not a terminal).\nWith --json, metric summaries are printed, and full histories for the metrics named with --metric.',
    options: {
      metric: {
        type: 'string',
        short: 'm',
        multiple: true,
        value: '<key>',
        description: 'Chart only this metric',
      },
      width: {
        type: 'string',
        value: '<columns>',
        description: 'Width of the output (default: the terminal width)',
      },
      height: { type: 'string', value: '<rows>', description: 'Rows of each chart (default 8)' },
      'tracking-uri': TRACKING_URI,
      json: JSON_OUTPUT,
    },
    examples: ['mlflow-kit runs show 0a1b2c3d4e5f --metric loss --metric val_loss'],
    async run(values, [runId], io) {
      const metrics = strings(values, 'metric');
      const width = positiveInteger('width', values.width, help('runs show')) ?? io.columns;
      const height = positiveInteger('height', values.height, help('runs show')) ?? 8;
      const details = await getRunDetails(runId ?? '', {
        ...tracking(values),
        ...(metrics ? { metrics } : {}),
      });
      if (values.json) {
        const { histories, ...rest } = details;
        io.out(json(metrics ? details : rest));
      } else io.out(`${formatRunDetails(details, { width, chartHeight: height })}\n`);
      return 0;
    },
  },
  {
    path: ['experiments', 'list'],
    positionals: [0, 0],
    summary: 'List experiments.',
    options: {
      filter: { type: 'string', value: '<filter>', description: `MLflow filter, e.g. "name LIKE 'iris%'"` },
      view: {
        type: 'string',
        value: '<active|deleted|all>',
        description: 'Which experiments (default active)',
      },
      max: { type: 'string', value: '<n>', description: 'At most n experiments (default 1000)' },
      'tracking-uri': TRACKING_URI,
      json: JSON_OUTPUT,
    },
    async run(values, _positionals, io) {
      const view = string(values, 'view');
      if (view !== undefined && !(view in VIEW_TYPES)) {
        throw new UsageError(
          `--view must be active, deleted or all, not ${JSON.stringify(view)}`,
          help('experiments list'),
        );
      }
      const maxResults = positiveInteger('max', values.max, help('experiments list'));
      const filter = string(values, 'filter');
      const experiments = await listExperiments({
        ...tracking(values),
        ...(filter !== undefined ? { filter } : {}),
        ...(view !== undefined ? { viewType: VIEW_TYPES[view as keyof typeof VIEW_TYPES] } : {}),
        ...(maxResults !== undefined ? { maxResults } : {}),
      });
      io.out(values.json ? json(experiments) : `${formatExperimentsTable(experiments)}\n`);
      return 0;
    },
  },
  {
    path: ['artifacts', 'list'],
    args: '<run-id> [path]',
    positionals: [1, 2],
    summary: "List a run's artifacts (one level, or every file with --recursive).",
    options: {
      recursive: { type: 'boolean', short: 'r', description: 'Every file below the path' },
      'tracking-uri': TRACKING_URI,
      json: JSON_OUTPUT,
    },
    async run(values, [runId, path], io) {
      const files = await listRunArtifacts(runId ?? '', path, {
        ...tracking(values),
        recursive: values.recursive === true,
      });
      io.out(values.json ? json(files) : `${formatArtifactList(files)}\n`);
      return 0;
    },
  },
  {
    path: ['artifacts', 'download'],
    args: '<run-id> [path]',
    positionals: [1, 2],
    summary: "Download a run's artifact file or directory (all of them without a path).",
    options: {
      dst: { type: 'string', short: 'd', value: '<dir>', description: 'Directory to write into (default .)' },
      'tracking-uri': TRACKING_URI,
      json: JSON_OUTPUT,
    },
    examples: ['mlflow-kit artifacts download 0a1b2c3d4e5f model --dst ./downloaded'],
    async run(values, [runId, path], io) {
      const dst = string(values, 'dst');
      const downloaded = await downloadRunArtifacts(runId ?? '', path ?? '', {
        ...tracking(values),
        ...(dst !== undefined ? { dst } : {}),
      });
      io.out(values.json ? json(downloaded) : `${downloaded.localPath}\n`);
      io.err(
        `Downloaded ${downloaded.files.length} file(s), ${downloaded.bytes.toLocaleString('en-US')} bytes.\n`,
      );
      return 0;
    },
  },
  {
    path: ['models', 'list'],
    positionals: [0, 0],
    summary: 'List registered models with their latest versions and aliases.',
    options: {
      filter: { type: 'string', value: '<filter>', description: `MLflow filter, e.g. "name LIKE 'iris%'"` },
      max: { type: 'string', value: '<n>', description: 'At most n models (default 100)' },
      'tracking-uri': TRACKING_URI,
      json: JSON_OUTPUT,
    },
    async run(values, _positionals, io) {
      const maxResults = positiveInteger('max', values.max, help('models list'));
      const filter = string(values, 'filter');
      const models = await listModels({
        ...tracking(values),
        ...(filter !== undefined ? { filter } : {}),
        ...(maxResults !== undefined ? { maxResults } : {}),
      });
      io.out(values.json ? json(models) : `${formatModelsTable(models)}\n`);
      return 0;
    },
  },
  {
    path: ['models', 'show'],
    args: '<name>',
    positionals: [1, 1],
    summary: 'Show a registered model and all its versions, aliases and stages.',
    options: { 'tracking-uri': TRACKING_URI, json: JSON_OUTPUT },
    async run(values, [name], io) {
      const details = await getModelDetails(name ?? '', tracking(values));
      io.out(values.json ? json(details) : `${formatModelDetails(details)}\n`);
      return 0;
    },
  },
  {
    path: ['models', 'set-alias'],
    args: '<name> <alias> <version>',
    positionals: [3, 3],
    summary: 'Point an alias (such as champion) at a model version, so models:/<name>@<alias> loads it.',
    options: { 'tracking-uri': TRACKING_URI, json: JSON_OUTPUT },
    examples: ['mlflow-kit models set-alias iris-classifier champion 3'],
    async run(values, [name, alias, version], io) {
      if (!/^\d+$/.test(version ?? '')) {
        throw new UsageError(
          `the version must be a version number such as 3, not ${JSON.stringify(version)}`,
          help('models set-alias'),
        );
      }
      const target = await setModelAlias(name ?? '', alias ?? '', version ?? '', tracking(values));
      io.out(
        values.json
          ? json(target)
          : `models:/${target.name}@${alias} → version ${target.version} (${target.source})\n`,
      );
      return 0;
    },
  },
  {
    path: ['doctor'],
    positionals: [0, 0],
    summary:
      'Check the configuration: tracking URI, tracking on, server reachable, credentials, version, artifact proxy.',
    options: { 'tracking-uri': TRACKING_URI, json: JSON_OUTPUT },
    async run(values, _positionals, io) {
      const report = await runDoctor(tracking(values));
      io.out(values.json ? json(report) : `${formatDoctorReport(report)}\n`);
      return report.ok ? 0 : 1;
    },
  },
  {
    path: ['sync'],
    args: '[dir]',
    positionals: [0, 1],
    summary:
      'Upload every run of a local store (default ./mlruns) to a tracking server; idempotent and resumable.',
    description:
      'Progress goes to stderr: while the local runs are counted an indeterminate bar, then a bar with rate and ETA.\nExits 1 when a run could not be uploaded.',
    options: {
      to: {
        type: 'string',
        value: '<uri>',
        description: 'The server, http(s)://host:port (default: MLFLOW_TRACKING_URI)',
      },
      concurrency: { type: 'string', value: '<n>', description: 'Runs uploaded at once (default 4)' },
      quiet: { type: 'boolean', short: 'q', description: 'No progress' },
      json: { type: 'boolean', description: 'Print the summary as JSON' },
    },
    examples: ['mlflow-kit sync ./mlruns --to http://127.0.0.1:5000'],
    async run(values, [from], io) {
      const to = string(values, 'to') ?? process.env.MLFLOW_TRACKING_URI;
      if (!to) {
        throw new UsageError(
          'sync needs a destination: pass --to http(s)://host:port (or set MLFLOW_TRACKING_URI).',
          help('sync'),
        );
      }
      const concurrency = positiveInteger('concurrency', values.concurrency, help('sync'));
      const summary = await syncLocalRuns({
        from: from ?? './mlruns',
        to,
        ...(concurrency !== undefined ? { concurrency } : {}),
        ...(values.quiet ? {} : { progressStream: process.stderr }),
      });
      io.out(values.json ? json(summary) : `${formatSyncSummary(summary)}\n`);
      return summary.failed > 0 ? 1 : 0;
    },
  },
  {
    path: ['serve'],
    positionals: [0, 0],
    summary:
      "Serve a logged tfjs model with MLflow's scoring protocol (POST /invocations, GET /ping, /health, /version).",
    description: [
      'Requests take the JSON formats of `mlflow models serve`: {"inputs": ...}, {"instances": [...]},',
      '{"dataframe_split": {"columns": [...], "data": [[...]]}} or {"dataframe_records": [{...}]}, or a CSV table;',
      'the answer is {"predictions": ...}. Concurrent requests are batched into one predict call.',
      'Runs on @tensorflow/tfjs-node when installed, else @tensorflow/tfjs on the wasm backend; needs @mlflow-kit/tfjs.',
      'Stops on SIGTERM or SIGINT after answering the requests in progress.',
    ].join('\n'),
    options: {
      'model-uri': {
        type: 'string',
        short: 'm',
        value: '<uri>',
        description:
          'The model: models:/<name>@<alias>, models:/<name>/<version>, models:/<model_id>, runs:/<run_id>/<path>',
      },
      port: {
        type: 'string',
        short: 'p',
        value: '<port>',
        description: 'Port to listen on (default 5000; 0 picks one)',
      },
      host: { type: 'string', value: '<host>', description: 'Interface to listen on (default 127.0.0.1)' },
      'max-batch-size': {
        type: 'string',
        value: '<rows>',
        description: 'Most rows per predict call; 1 turns micro-batching off (default 64)',
      },
      'max-batch-wait': {
        type: 'string',
        value: '<ms>',
        description: 'Longest a request waits for others to share its predict call (default 2)',
      },
      'max-request-bytes': {
        type: 'string',
        value: '<bytes>',
        description: 'Largest request body; larger ones get 413 (default 10485760)',
      },
      timeout: {
        type: 'string',
        short: 't',
        value: '<seconds>',
        description: 'Longest a request may take before a 504 (default 60)',
      },
      'tracking-uri': TRACKING_URI,
    },
    examples: [
      'mlflow-kit serve --model-uri models:/iris-classifier@champion --port 5001',
      'curl -s http://127.0.0.1:5001/invocations -H "Content-Type: application/json" -d \'{"inputs": [[5.1, 3.5, 1.4, 0.2]]}\'',
    ],
    async run(values, _positionals, io) {
      const modelUri = string(values, 'model-uri');
      if (!modelUri) {
        throw new UsageError(
          'serve needs the model: pass --model-uri models:/<name>@<alias> (or another model URI).',
          help('serve'),
        );
      }
      const rawPort = string(values, 'port');
      const port = rawPort === undefined ? undefined : Number(rawPort);
      if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
        throw new UsageError(
          `--port must be a port number from 0 to 65535, not ${JSON.stringify(rawPort)}`,
          help('serve'),
        );
      }
      const host = string(values, 'host');
      const maxBatchSize = positiveInteger('max-batch-size', values['max-batch-size'], help('serve'));
      const rawWait = string(values, 'max-batch-wait');
      const maxBatchWaitMs = rawWait === undefined ? undefined : Number(rawWait);
      if (maxBatchWaitMs !== undefined && !(Number.isInteger(maxBatchWaitMs) && maxBatchWaitMs >= 0)) {
        throw new UsageError(
          `--max-batch-wait must be whole milliseconds (0 or more), not ${JSON.stringify(rawWait)}`,
          help('serve'),
        );
      }
      const maxRequestBytes = positiveInteger(
        'max-request-bytes',
        values['max-request-bytes'],
        help('serve'),
      );
      const timeout = positiveInteger('timeout', values.timeout, help('serve'));
      await serveModel({
        ...tracking(values),
        modelUri,
        ...(port !== undefined ? { port } : {}),
        ...(host !== undefined ? { host } : {}),
        ...(maxBatchSize !== undefined ? { maxBatchSize } : {}),
        ...(maxBatchWaitMs !== undefined ? { maxBatchWaitMs } : {}),
        ...(maxRequestBytes !== undefined ? { maxRequestBytes } : {}),
        ...(timeout !== undefined ? { requestTimeoutMs: timeout * 1000 } : {}),
        onListening(server) {
          io.err(
            `Serving ${modelUri} at ${server.url} on the tfjs ${server.backend} backend (inputs ${server.inputs
              .map(
                (input) => `${input.name} ${input.dtype}[${input.shape.map((dim) => dim ?? -1).join(', ')}]`,
              )
              .join(', ')}; micro-batching ${
              (maxBatchSize ?? 64) > 1 ? `up to ${maxBatchSize ?? 64} rows, ${maxBatchWaitMs ?? 2} ms` : 'off'
            }). Stop with Ctrl-C or SIGTERM.\n`,
          );
        },
      });
      io.err('Stopped: every request in progress was answered.\n');
      return 0;
    },
  },
];
