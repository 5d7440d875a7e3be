import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setDiagLogger } from '../diag.js';
import { MlflowApiError } from '../errors.js';
import { resolveSettings, type TrackingOptions } from '../settings.js';
import { closedPortUri, createFaultProxy, FaultProxy, sendJson as json } from '../testing/fault-proxy.js';
import { FetchHttpClient } from './fetch-http-client.js';
import { backoffDelayMs, encodeQuery, HttpClient, parseRetryAfterMs } from './http.js';
import type { RetryingHttpClient } from './http-core.js';

const fake = new FaultProxy();
const clients: RetryingHttpClient[] = [];
// The policy is shared: both transports pass the same request, retry and secrecy tests.
const TRANSPORTS = [
  ['HttpClient (undici)', HttpClient],
  ['FetchHttpClient (fetch)', FetchHttpClient],
] as const;
let Transport: (typeof TRANSPORTS)[number][1] = HttpClient;
const sleeps: number[] = [];

function client(options: TrackingOptions = {}, uri = fake.uri): RetryingHttpClient {
  const settings = resolveSettings(
    { trackingUri: uri, maxRetries: 3, backoffFactor: 0.01, backoffJitter: 0, ...options },
    {},
  );
  const http = new Transport(settings, {
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  });
  clients.push(http);
  return http;
}

async function failure(promise: Promise<unknown>): Promise<MlflowApiError> {
  try {
    await promise;
  } catch (error) {
    if (MlflowApiError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected the request to fail');
}

beforeAll(() => fake.start());
afterAll(() => fake.stop());
afterEach(async () => {
  fake.reset();
  sleeps.length = 0;
  setDiagLogger(undefined);
  await Promise.all(clients.splice(0).map((http) => http.close()));
});

describe.each(TRANSPORTS)('%s', (_name, transport) => {
  beforeAll(() => {
    Transport = transport;
  });
  afterAll(() => {
    Transport = HttpClient;
  });

  describe('requests', () => {
    it('sends JSON bodies with Content-Type and a mlflow-kit User-Agent', async () => {
      await client().json('POST', '/api/2.0/mlflow/runs/log-batch', { run_id: 'abc', metrics: [] });
      const [request] = fake.received;
      expect(request?.method).toBe('POST');
      expect(request?.url).toBe('/api/2.0/mlflow/runs/log-batch');
      expect(request?.headers['content-type']).toBe('application/json');
      // A page's fetch sends the browser's own User-Agent (a forbidden header there).
      if (Transport === HttpClient)
        expect(request?.headers['user-agent']).toMatch(/^mlflow-kit\/\d+\.\d+\.\d+/);
      expect(JSON.parse(request?.body.toString() ?? '')).toEqual({ run_id: 'abc', metrics: [] });
    });

    it('sends GET parameters as a query string with repeated keys and true/false booleans', async () => {
      await client().json('GET', '/api/2.0/mlflow/runs/x', {
        run_ids: ['a', 'b'],
        flag: true,
        off: false,
        name: 'a b/c',
        skip: undefined,
      });
      expect(fake.received[0]?.url).toBe(
        '/api/2.0/mlflow/runs/x?run_ids=a&run_ids=b&flag=true&off=false&name=a+b%2Fc',
      );
      expect(encodeQuery({})).toBe('');
    });

    it('keeps the path of a tracking URI with a prefix', async () => {
      await client({}, `${fake.uri}/mlflow/`).json('GET', '/api/2.0/mlflow/experiments/get', {
        experiment_id: '1',
      });
      expect(fake.received[0]?.url).toBe('/mlflow/api/2.0/mlflow/experiments/get?experiment_id=1');
    });

    it('sends extra headers from the settings', async () => {
      await client({ headers: { 'X-Team': 'vision' } }).json('GET', '/api/2.0/mlflow/x');
      expect(fake.received[0]?.headers['x-team']).toBe('vision');
    });

    it('uses Basic auth when a username and password are set, even if a token is set too', async () => {
      await client({ username: 'ada', password: 'pw-1', token: 'tok-1' }).json('GET', '/api/2.0/mlflow/x');
      expect(fake.received[0]?.headers.authorization).toBe(
        `Basic ${Buffer.from('ada:pw-1').toString('base64')}`,
      );
    });

    it('uses a Bearer token when there is no username and password', async () => {
      await client({ token: 'tok-2' }).json('GET', '/api/2.0/mlflow/x');
      expect(fake.received[0]?.headers.authorization).toBe('Bearer tok-2');
    });

    it('never sends the credentials to another origin', async () => {
      const http = client({ token: 'tok-3' }, 'http://127.0.0.1:1');
      await http.send({ method: 'GET', path: `${fake.uri}/api/2.0/mlflow-artifacts/artifacts/1/a.txt` });
      expect(fake.received[0]?.headers.authorization).toBeUndefined();
    });
  });

  describe('retries', () => {
    it('retries 503 and 502 and returns the answer that finally succeeds', async () => {
      fake.handler = (_req, res, attempt) => {
        if (attempt === 1) json(res, 503, { error_code: 'TEMPORARILY_UNAVAILABLE', message: 'busy' });
        else if (attempt === 2) res.writeHead(502).end('<html><body><h1>502 Bad Gateway</h1></body></html>');
        else json(res, 200, { ok: true });
      };
      expect(await client().json('POST', '/api/2.0/mlflow/runs/log-batch', {})).toEqual({ ok: true });
      expect(fake.received).toHaveLength(3);
      // urllib3: no wait before the first retry, then factor × 2^(n-1).
      expect(sleeps).toEqual([20]);
    });

    it('waits as long as Retry-After says on 429 and 503, in seconds or as an HTTP date', async () => {
      fake.handler = (_req, res, attempt) => {
        if (attempt === 1)
          json(
            res,
            429,
            { error_code: 'REQUEST_LIMIT_EXCEEDED', message: 'slow down' },
            { 'retry-after': '2' },
          );
        else if (attempt === 2)
          res.writeHead(503, { 'retry-after': new Date(Date.now() + 60_000).toUTCString() }).end('down');
        else json(res, 200, {});
      };
      await client().json('POST', '/api/2.0/mlflow/runs/log-batch', {});
      expect(sleeps[0]).toBe(2000);
      expect(sleeps[1]).toBeGreaterThan(55_000);
      expect(sleeps[1]).toBeLessThanOrEqual(60_000);
    });

    it('gives up after maxRetries with a retryable MlflowApiError for a non-JSON 502', async () => {
      fake.handler = (_req, res) =>
        res
          .writeHead(502, { 'content-type': 'text/html' })
          .end('<html><body><h1>502 Bad Gateway</h1>nginx</body></html>');
      const error = await failure(
        client({ maxRetries: 2 }).json('POST', '/api/2.0/mlflow/runs/log-batch', {}),
      );
      expect(fake.received).toHaveLength(3);
      expect(error).toMatchObject({
        status: 502,
        errorCode: 'INTERNAL_ERROR',
        retryable: true,
        endpoint: '[POST] /api/2.0/mlflow/runs/log-batch',
      });
      expect(error.message).toBe(
        '[POST] /api/2.0/mlflow/runs/log-batch: 502 INTERNAL_ERROR: 502 Bad Gateway nginx',
      );
    });

    it('does not retry a 400 and reports the server error code and message', async () => {
      fake.handler = (_req, res) =>
        json(res, 400, { error_code: 'INVALID_PARAMETER_VALUE', message: "Invalid metric name: 'a//b'" });
      const error = await failure(client().json('POST', '/api/2.0/mlflow/runs/log-batch', {}));
      expect(fake.received).toHaveLength(1);
      expect(error.message).toBe(
        "[POST] /api/2.0/mlflow/runs/log-batch: 400 INVALID_PARAMETER_VALUE: Invalid metric name: 'a//b'",
      );
      expect(error).toMatchObject({
        status: 400,
        errorCode: 'INVALID_PARAMETER_VALUE',
        retryable: false,
        serverMessage: "Invalid metric name: 'a//b'",
      });
    });

    it('maps plain-text and empty error bodies to the code Python derives from the status', async () => {
      fake.handler = (_req, res, attempt) => {
        if (attempt === 1) res.writeHead(403).end('Permission denied');
        else res.writeHead(404).end();
      };
      const forbidden = await failure(client().json('GET', '/api/2.0/mlflow/x'));
      expect(forbidden).toMatchObject({
        status: 403,
        errorCode: 'PERMISSION_DENIED',
        serverMessage: 'Permission denied',
        retryable: false,
      });
      const missing = await failure(client().json('GET', '/api/2.0/mlflow/y'));
      expect(missing).toMatchObject({ status: 404, errorCode: 'ENDPOINT_NOT_FOUND', retryable: false });
    });

    it('retries a refused connection and then fails with status undefined, retryable', async () => {
      const uri = await closedPortUri();
      const error = await failure(
        client({ maxRetries: 2 }, uri).json('POST', '/api/2.0/mlflow/runs/log-batch', {}),
      );
      expect(error.status).toBeUndefined();
      expect(error.retryable).toBe(true);
      expect(error.message).toMatch(
        /^\[POST\] \/api\/2\.0\/mlflow\/runs\/log-batch: could not reach the server at http:\/\/127\.0\.0\.1:\d+/,
      );
      expect(error.message).toMatch(/ECONNREFUSED/);
      // Two retries: the first at once, the second after factor × 2.
      expect(sleeps).toEqual([20]);
    });

    it('times out a request that gets no answer, and retries it', async () => {
      fake.handler = () => {
        // Never answers.
      };
      const started = Date.now();
      const error = await failure(
        client({ maxRetries: 1, requestTimeoutSeconds: 0.2 }).json('GET', '/api/2.0/mlflow/x'),
      );
      expect(fake.received).toHaveLength(2);
      expect(error.status).toBeUndefined();
      expect(error.retryable).toBe(true);
      expect(error.message).toMatch(/no answer within 200 ms/);
      expect(Date.now() - started).toBeLessThan(5000);
    });
  });

  describe('secrecy', () => {
    const password = 'pa55-word-XYZ';
    const token = 'tok-SECRET-123';
    const basic = Buffer.from(`admin:${password}`).toString('base64');

    function leaks(text: string): boolean {
      return text.includes(password) || text.includes(token) || text.includes(basic);
    }

    function everything(error: unknown): string {
      const parts: string[] = [];
      let current: unknown = error;
      for (let depth = 0; current && depth < 10; depth++) {
        if (current instanceof Error)
          parts.push(current.message, current.stack ?? '', JSON.stringify(current), String(current));
        else parts.push(JSON.stringify(current));
        current = (current as { cause?: unknown }).cause;
      }
      return parts.join('\n');
    }

    it('keeps passwords and tokens out of messages, causes and diag lines', async () => {
      const lines: string[] = [];
      const record = (message: string, ...args: unknown[]) =>
        lines.push([message, ...args.map(String)].join(' '));
      setDiagLogger({ error: record, warn: record, info: record, debug: record }, 'debug');

      // The server echoes what it got, as a careless proxy might.
      fake.handler = (req, res) =>
        res
          .writeHead(401, { 'www-authenticate': 'Basic realm="mlflow"' })
          .end(`You are not authenticated: ${req.headers.authorization}`);
      const unauthorized = await failure(
        client({ username: 'admin', password }).json('GET', '/api/2.0/mlflow/x'),
      );
      expect(unauthorized).toMatchObject({ status: 401, errorCode: 'UNAUTHENTICATED', retryable: false });

      const uri = await closedPortUri();
      const refused = await failure(
        client({ token, maxRetries: 1 }, uri).json('POST', '/api/2.0/mlflow/runs/log-batch', {}),
      );
      expect(refused.cause).toBeDefined();

      fake.handler = () => {};
      const timeout = await failure(
        client({ username: 'admin', password, maxRetries: 0, requestTimeoutSeconds: 0.1 }).json(
          'GET',
          '/api/2.0/mlflow/x',
        ),
      );

      for (const error of [unauthorized, refused, timeout]) expect(leaks(everything(error))).toBe(false);
      expect(lines.length).toBeGreaterThan(0);
      expect(lines.some(leaks)).toBe(false);
    });
  });
});

describe('backoff and Retry-After', () => {
  it('follows urllib3: nothing before the first retry, then factor × 2^(n-1) plus jitter, at most 120 s', () => {
    const none = () => 0;
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelayMs(n, 2000, 1000, none))).toEqual([
      0, 4000, 8000, 16000, 32000, 64000, 120000,
    ]);
    expect(backoffDelayMs(2, 2000, 1000, () => 0.5)).toBe(4500);
  });

  it('reads Retry-After as seconds or an HTTP date, and ignores garbage', () => {
    expect(parseRetryAfterMs('3')).toBe(3000);
    expect(parseRetryAfterMs(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(parseRetryAfterMs('soon')).toBeUndefined();
    expect(parseRetryAfterMs(undefined)).toBeUndefined();
  });
});

describe('HttpClient TLS', () => {
  let dir: string;
  let server: FaultProxy;
  let uri: string;

  function openssl(...args: string[]): void {
    execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mlflow-kit-tls-'));
    openssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '2',
      '-subj',
      '/CN=test-ca',
    );
    for (const name of ['server', 'client']) {
      openssl(
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.csr`,
        '-subj',
        `/CN=${name}`,
      );
      await writeFile(
        join(dir, `${name}.ext`),
        name === 'server' ? 'subjectAltName=IP:127.0.0.1\n' : 'extendedKeyUsage=clientAuth\n',
      );
      openssl(
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${name}.pem`,
        '-days',
        '2',
        '-extfile',
        `${name}.ext`,
      );
    }
    // requests' `cert=` form, which MLFLOW_TRACKING_CLIENT_CERT_PATH points at: certificate and key in one file.
    await writeFile(
      join(dir, 'client-bundle.pem'),
      `${await readFile(join(dir, 'client.pem'), 'utf8')}${await readFile(join(dir, 'client.key'), 'utf8')}`,
    );
    server = await createFaultProxy({
      tls: {
        key: await readFile(join(dir, 'server.key')),
        cert: await readFile(join(dir, 'server.pem')),
        ca: await readFile(join(dir, 'ca.pem')),
        requestCert: true,
        rejectUnauthorized: false,
      },
    });
    uri = server.uri;
  });

  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses an untrusted certificate at once, saying which setting fixes it', async () => {
    const error = await failure(client({}, uri).json('GET', '/api/2.0/mlflow/x'));
    expect(error.retryable).toBe(false);
    expect(error.status).toBeUndefined();
    expect(error.message).toMatch(/not trusted.*MLFLOW_TRACKING_SERVER_CERT_PATH/);
    expect(sleeps).toEqual([]);
  });

  it('trusts the server with serverCertPath, and skips verification with insecureTls', async () => {
    expect(
      await client({ serverCertPath: join(dir, 'ca.pem') }, uri).json('GET', '/api/2.0/mlflow/x'),
    ).toEqual({});
    expect(await client({ insecureTls: true }, uri).json('GET', '/api/2.0/mlflow/x')).toEqual({});
  });

  it('presents the client certificate of clientCertPath for mutual TLS', async () => {
    server.reset();
    await client(
      { serverCertPath: join(dir, 'ca.pem'), clientCertPath: join(dir, 'client-bundle.pem') },
      uri,
    ).json('GET', '/api/2.0/mlflow/x');
    expect(server.received.map((request) => request.clientAuthorized)).toEqual([true]);
  });
});
