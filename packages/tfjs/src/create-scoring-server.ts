import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { diag, type MlflowClient, MlflowConfigError, type TrackingOptions } from '@mlflow-kit/core';
import { loadServingTfjs } from './internal/load-serving-tfjs.js';
import { MicroBatcher } from './internal/micro-batcher.js';
import {
  parseCsvRequest,
  parseJsonRequest,
  ScoringError,
  type ScoringInputSpec,
  type ScoringRequest,
} from './internal/scoring-input.js';
import type { ServingModelLike, ServingTensorLike, ServingTfLike } from './internal/serving-types.js';
import { loadModel } from './load-model.js';

/** Options of {@link createScoringServer}. */
export interface ScoringServerOptions extends TrackingOptions {
  /**
   * The model to serve: `runs:/<run_id>/<path>`, `models:/<name>/<version>`, `models:/<name>@<alias>`,
   * `models:/<name>/<stage>`, `models:/<model_id>` or an artifact URI. Give `model` instead to serve a model
   * already loaded.
   */
  modelUri?: string;
  /** A loaded tfjs `LayersModel` to serve instead of loading `modelUri`. */
  model?: ServingModelLike;
  /**
   * The `tf` module to load and predict with.
   * @defaultValue `@tensorflow/tfjs-node` when it loads, else `@tensorflow/tfjs` on the wasm backend
   */
  tf?: ServingTfLike;
  /** A client to resolve `modelUri` with, instead of one made from the tracking options. */
  client?: MlflowClient;
  /** Interface to listen on. @defaultValue `'127.0.0.1'` (as `mlflow models serve`) */
  host?: string;
  /** Port to listen on; 0 picks a free one. @defaultValue `5000` (as `mlflow models serve`) */
  port?: number;
  /**
   * Most rows one `predict` call receives when concurrent requests are batched together; 1 turns
   * micro-batching off.
   * @defaultValue `64`
   */
  maxBatchSize?: number;
  /** Longest a request waits for others to share its `predict` call, in milliseconds. @defaultValue `2` */
  maxBatchWaitMs?: number;
  /** Largest request body accepted; a larger one gets 413. @defaultValue `10485760` (10 MiB) */
  maxRequestBytes?: number;
  /**
   * Longest a request may take, in milliseconds; then it gets 504 "Request processing time exceeded limit",
   * as MLflow's `--timeout` (`MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT`).
   * @defaultValue `60000`
   */
  requestTimeoutMs?: number;
  /** Longest {@link ScoringServer.close} waits for requests in progress before it drops them, in ms. @defaultValue `10000` */
  shutdownTimeoutMs?: number;
}

/** A running scoring server: MLflow's `/invocations`, `/ping`, `/health` and `/version`. */
export interface ScoringServer {
  /** `http://<host>:<port>`. */
  url: string;
  host: string;
  port: number;
  /** The tfjs backend predicting (`tensorflow` for tfjs-node, `wasm`, `cpu`). */
  backend: string;
  /** The served model's inputs, as requests must shape them. */
  inputs: ScoringInputSpec[];
  /** Requests answered with predictions so far, and `predict` calls they took. */
  stats(): { requests: number; predictCalls: number };
  /**
   * Stops accepting requests, answers those in progress (and the batch waiting), closes the connections
   * and disposes the model if it loaded it.
   */
  close(): Promise<void>;
}

const JSON_TYPE = 'application/json';
const CONTENT_TYPES = ['text/csv', JSON_TYPE, 'application/vnd.apache.parquet'];

function packageVersion(): string {
  try {
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return manifest.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function send(response: ServerResponse, status: number, body: string, type = JSON_TYPE): void {
  response.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  response.end(body);
}

function sendError(response: ServerResponse, error: ScoringError): void {
  send(response, error.status, error.toJson());
}

/** Nested lists of `shape` from `values` starting at `offset`. */
function nest(values: ArrayLike<number>, offset: number, shape: number[]): unknown {
  if (shape.length === 0) return values[offset];
  const [size = 0, ...rest] = shape;
  const stride = rest.reduce((total, dim) => total * dim, 1);
  return Array.from({ length: size }, (_, index) => nest(values, offset + index * stride, rest));
}

function specsOf(model: ServingModelLike): ScoringInputSpec[] {
  return model.inputs.map((input, index) => ({
    name: model.inputNames?.[index] ?? input.name ?? `input_${index}`,
    shape: input.shape,
    dtype: input.dtype ?? 'float32',
  }));
}

interface QueuedRequest extends ScoringRequest {
  batchKey: string;
}

/** One `predict` call for requests whose rows have the same shapes; each gets its own rows of every output. */
async function predictBatch(
  tf: ServingTfLike,
  model: ServingModelLike,
  specs: ScoringInputSpec[],
  requests: QueuedRequest[],
): Promise<unknown[]> {
  const rows = requests.reduce((total, request) => total + request.rows, 0);
  const tensors = specs.map((spec, input) => {
    const rowShape = requests[0]?.inputs[input]?.rowShape ?? [];
    const size = rowShape.reduce((total, dim) => total * dim, 1);
    const values = spec.dtype === 'int32' ? new Int32Array(rows * size) : new Float32Array(rows * size);
    let offset = 0;
    for (const request of requests) {
      const data = request.inputs[input]?.values ?? [];
      values.set(data, offset);
      offset += data.length;
    }
    return tf.tensor(values, [rows, ...rowShape], (spec.dtype === 'int32' ? 'int32' : 'float32') as never);
  }) as ServingTensorLike[];
  let outputs: ServingTensorLike[];
  try {
    const predicted = model.predict((tensors.length === 1 ? tensors[0] : tensors) as never);
    outputs = (Array.isArray(predicted) ? predicted : [predicted]) as ServingTensorLike[];
  } catch (error) {
    throw new ScoringError(
      400,
      'BAD_REQUEST',
      `Encountered an unexpected error while evaluating the model. Verify that the input is compatible with the model for inference. Error: ${error instanceof Error ? error.message : String(error)}`,
    );
  } finally {
    for (const tensor of tensors) tensor.dispose();
  }
  try {
    const names = outputs.map((_, index) => model.outputNames?.[index] ?? `output_${index}`);
    const data = await Promise.all(outputs.map((output) => output.data()));
    const results: unknown[] = [];
    let row = 0;
    for (const request of requests) {
      const perOutput = outputs.map((output, index) => {
        const rowShape = output.shape.slice(1);
        const stride = rowShape.reduce((total, dim) => total * dim, 1);
        return nest(data[index] as ArrayLike<number>, row * stride, [request.rows, ...rowShape]);
      });
      results.push(
        perOutput.length === 1
          ? perOutput[0]
          : Object.fromEntries(names.map((name, index) => [name, perOutput[index]])),
      );
      row += request.rows;
    }
    return results;
  } finally {
    for (const output of outputs) output.dispose();
  }
}

/** Bytes of an over-large body read and dropped so that the client gets its 413; past that the socket closes. */
const DISCARD_LIMIT = 64 * 1024 * 1024;

/**
 * Reads a request body up to `limit` bytes. A larger one is a 413, answered once the rest of the body has been
 * read and dropped (a client still sending would otherwise miss the answer), or at once when it is huge.
 */
function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(request.headers['content-length']);
  const tooLarge = (size: string) =>
    new ScoringError(
      413,
      'BAD_REQUEST',
      `The request body is ${size}, more than the limit of ${limit} bytes: send fewer rows per request, or raise the server's request size limit (--max-request-bytes).`,
    );
  if (Number.isFinite(declared) && declared > limit + DISCARD_LIMIT) {
    return Promise.reject(tooLarge(`${declared} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else if (size > limit + DISCARD_LIMIT) {
        request.removeAllListeners('data');
        request.pause();
        reject(tooLarge(`over ${limit + DISCARD_LIMIT} bytes`));
      } else chunks.length = 0;
    });
    request.on('end', () =>
      size > limit ? reject(tooLarge(`${size} bytes`)) : resolve(Buffer.concat(chunks)),
    );
    request.on('error', reject);
  });
}

/** MLflow's content-type rules: JSON or CSV, no parameter but `charset=utf-8`; else 415 with a text body. */
function mediaType(header: string | undefined): { type?: string; problem?: string } {
  if (!header) {
    return {
      problem: `This predictor only supports the following content types: Types: ${JSON.stringify(CONTENT_TYPES)}. Got 'None'.`,
    };
  }
  const [type = '', ...parameters] = header.split(';').map((part) => part.trim());
  for (const parameter of parameters) {
    const [key = '', value = ''] = parameter.split('=').map((part) => part.trim());
    if (key.toLowerCase() !== 'charset') return { problem: `Unrecognized content type parameters: ${key}.` };
    if (value.replace(/"/g, '').toLowerCase() !== 'utf-8')
      return { problem: 'The scoring server only supports UTF-8' };
  }
  const lower = type.toLowerCase();
  if (lower === JSON_TYPE || lower === 'text/csv') return { type: lower };
  if (lower === 'application/vnd.apache.parquet') {
    return {
      problem: 'This tfjs scoring server reads application/json and text/csv; send Parquet data as JSON.',
    };
  }
  return {
    problem: `This predictor only supports the following content types: Types: ${JSON.stringify(CONTENT_TYPES)}. Got '${header}'.`,
  };
}

function positive(name: string, value: number | undefined, fallback: number, minimum = 1): number {
  const chosen = value ?? fallback;
  if (!Number.isInteger(chosen) || chosen < minimum) {
    throw new MlflowConfigError(
      `${name} must be a whole number of at least ${minimum}, not ${String(value)}.`,
      {
        setting: name,
      },
    );
  }
  return chosen;
}

/**
 * Serves a TensorFlow.js model logged with {@link logModel} over HTTP with MLflow's scoring protocol, so what
 * calls `mlflow models serve` calls this: `POST /invocations` with `inputs`, `instances`, `dataframe_split` or
 * `dataframe_records` (JSON, or CSV) answers `{"predictions": ...}`; `GET /ping` and `/health` answer 200;
 * `GET /version` the package version. Bad payloads get MLflow's JSON errors with a 4xx status. Concurrent
 * requests are micro-batched into one `predict` call.
 *
 * @example
 * ```ts
 * import { createScoringServer } from '@mlflow-kit/tfjs';
 *
 * const server = await createScoringServer({ modelUri: 'models:/iris-classifier@champion', port: 5001 });
 * // curl -d '{"inputs": [[5.1, 3.5, 1.4, 0.2]]}' -H 'Content-Type: application/json' http://127.0.0.1:5001/invocations
 * process.once('SIGTERM', () => server.close());
 * ```
 */
export async function createScoringServer(options: ScoringServerOptions): Promise<ScoringServer> {
  const {
    modelUri,
    model: given,
    tf: givenTf,
    client,
    host = '127.0.0.1',
    port = 5000,
    maxBatchSize: batchOption,
    maxBatchWaitMs: waitOption,
    maxRequestBytes: bytesOption,
    requestTimeoutMs: timeoutOption,
    shutdownTimeoutMs: shutdownOption,
    ...tracking
  } = options;
  const maxBatchSize = positive('maxBatchSize', batchOption, 64);
  const maxWaitMs = positive('maxBatchWaitMs', waitOption, 2, 0);
  const maxRequestBytes = positive('maxRequestBytes', bytesOption, 10 * 1024 * 1024);
  const requestTimeoutMs = positive('requestTimeoutMs', timeoutOption, 60_000);
  const shutdownTimeoutMs = positive('shutdownTimeoutMs', shutdownOption, 10_000, 0);
  if (!given && !modelUri) {
    throw new MlflowConfigError('createScoringServer needs a model: pass `modelUri` (or a loaded `model`).', {
      setting: 'modelUri',
    });
  }
  const tf = givenTf ?? (await loadServingTfjs());
  const model =
    given ??
    (await loadModel(modelUri as string, {
      tf,
      ...tracking,
      ...(client ? { client } : {}),
    }));
  const specs = specsOf(model);
  const version = packageVersion();
  let predictCalls = 0;
  let answered = 0;
  const batcher = new MicroBatcher<QueuedRequest, unknown>(
    (requests) => {
      predictCalls++;
      return predictBatch(tf, model, specs, requests);
    },
    { maxBatchSize, maxWaitMs },
  );

  let closing = false;
  const inFlight = new Set<Promise<void>>();

  async function invocations(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const { type, problem } = mediaType(request.headers['content-type']);
    if (!type) {
      send(response, 415, problem ?? '', 'text/plain');
      return;
    }
    const body = await readBody(request, maxRequestBytes);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(body);
    } catch {
      throw new ScoringError(
        400,
        'BAD_REQUEST',
        'Invalid input. Ensure that input is a valid UTF-8 encoded string.',
      );
    }
    const parsed = type === 'text/csv' ? parseCsvRequest(text, specs) : parseJsonRequest(text, specs);
    if (parsed.params && Object.keys(parsed.params).length > 0) {
      diag.once(
        '@mlflow-kit/tfjs:serve-params',
        'warn',
        `The request carries params (${Object.keys(parsed.params).join(', ')}), but a tfjs model's predict takes no inference params: they are ignored, as MLflow ignores params a model's signature does not declare.`,
      );
    }
    const batchKey = parsed.inputs.map((input) => input.rowShape.join('x')).join('|');
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ScoringError(504, 'DEADLINE_EXCEEDED', 'Request processing time exceeded limit')),
        requestTimeoutMs,
      );
    });
    try {
      const predictions = await Promise.race([batcher.submit({ ...parsed, batchKey }), timeout]);
      answered++;
      send(response, 200, JSON.stringify({ predictions }));
    } finally {
      clearTimeout(timer);
    }
  }

  async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0];
    const method = request.method ?? 'GET';
    const allowed =
      path === '/invocations'
        ? 'POST'
        : ['/ping', '/health', '/version'].includes(path ?? '')
          ? 'GET'
          : undefined;
    if (!allowed) {
      throw new ScoringError(
        404,
        'ENDPOINT_NOT_FOUND',
        `No endpoint ${method} ${path}: the scoring server answers POST /invocations and GET /ping, /health, /version.`,
      );
    }
    if (method !== allowed && !(allowed === 'GET' && method === 'HEAD')) {
      response.setHeader('allow', allowed);
      throw new ScoringError(405, 'BAD_REQUEST', `${path} takes ${allowed}, not ${method}.`);
    }
    if (path === '/invocations') return invocations(request, response);
    send(response, 200, path === '/version' ? version : '\n');
  }

  const server = createServer((request, response) => {
    if (closing) {
      response.setHeader('connection', 'close');
      sendError(
        response,
        new ScoringError(503, 'TEMPORARILY_UNAVAILABLE', 'The scoring server is shutting down.'),
      );
      return;
    }
    const handled = route(request, response)
      .catch((error: unknown) => {
        if (response.headersSent) return;
        if (error instanceof ScoringError) {
          // A body left unread (too large) would otherwise keep the connection busy.
          if (error.status === 413) response.setHeader('connection', 'close');
          sendError(response, error);
          return;
        }
        diag.error('The scoring server failed on a request', error);
        sendError(
          response,
          new ScoringError(
            500,
            'INTERNAL_ERROR',
            `The scoring server failed: ${error instanceof Error ? error.message : String(error)}`,
          ),
        );
      })
      .finally(() => inFlight.delete(handled));
    inFlight.add(handled);
  });
  server.requestTimeout = requestTimeoutMs + 5_000;

  await new Promise<void>((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new MlflowConfigError(
              `Port ${port} on ${host} is in use (a tracking server there?): pass another port (--port).`,
              { setting: 'port', cause: error },
            )
          : error,
      );
    };
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  let closed: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${address.port}`,
    host: address.address,
    port: address.port,
    backend: tf.getBackend(),
    inputs: specs,
    stats: () => ({ requests: answered, predictCalls }),
    close() {
      closed ??= (async () => {
        closing = true;
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        const force = setTimeout(() => server.closeAllConnections(), shutdownTimeoutMs);
        await batcher.drain();
        await Promise.allSettled([...inFlight]);
        server.closeIdleConnections();
        await stopped;
        clearTimeout(force);
        if (!given) model.dispose?.();
      })();
      return closed;
    },
  };
}
