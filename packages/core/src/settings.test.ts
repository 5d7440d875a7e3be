import { describe, expect, it } from 'vitest';
import { MlflowConfigError } from './errors.js';
import { redactUrl, resolveSettings } from './settings.js';

describe('resolveSettings', () => {
  it('reads MLFLOW_HTTP_REQUEST_TIMEOUT in seconds, as the Python client does', () => {
    expect(resolveSettings({}, { MLFLOW_HTTP_REQUEST_TIMEOUT: '30' }).requestTimeoutMs).toBe(30_000);
    expect(resolveSettings({}, {}).requestTimeoutMs).toBe(120_000);
  });

  it('lets options win over environment variables', () => {
    const settings = resolveSettings(
      { trackingUri: 'http://a:5000', requestTimeoutSeconds: 5, maxRetries: 1 },
      {
        MLFLOW_TRACKING_URI: 'http://b:5000',
        MLFLOW_HTTP_REQUEST_TIMEOUT: '30',
        MLFLOW_HTTP_REQUEST_MAX_RETRIES: '3',
      },
    );
    expect(settings).toMatchObject({
      trackingUri: 'http://a:5000',
      trackingUriSource: 'option',
      requestTimeoutMs: 5000,
      maxRetries: 1,
    });
  });

  it('caps retries at 10 and the backoff factor at 120 s, as MLflow does', () => {
    const settings = resolveSettings(
      {},
      { MLFLOW_HTTP_REQUEST_MAX_RETRIES: '50', MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: '500' },
    );
    expect(settings.maxRetries).toBe(10);
    expect(settings.backoffFactorMs).toBe(120_000);
  });

  it('rejects a malformed number, naming the variable', () => {
    expect(() => resolveSettings({}, { MLFLOW_HTTP_REQUEST_TIMEOUT: 'soon' })).toThrow(
      new MlflowConfigError(
        'The environment variable MLFLOW_HTTP_REQUEST_TIMEOUT is not valid: set it to a number of at least 0.001, or unset it (or pass `requestTimeoutSeconds`, which wins).',
        {
          setting: 'MLFLOW_HTTP_REQUEST_TIMEOUT',
        },
      ),
    );
  });

  it('defaults to the local store in ./mlruns, as an absolute file: URI', () => {
    const settings = resolveSettings({}, {});
    expect(settings.storeKind).toBe('local');
    expect(settings.trackingUri).toBe(`file://${process.cwd()}/mlruns`);
    expect(settings.trackingUriSource).toBe('default');
  });

  it('takes credentials out of the URI and keeps them out of what it shows', () => {
    const settings = resolveSettings(
      {},
      { MLFLOW_TRACKING_URI: 'https://ann:s3cr%40t@mlflow.example.com/prefix/' },
    );
    expect(settings).toMatchObject({
      trackingUri: 'https://mlflow.example.com/prefix',
      username: 'ann',
      password: 's3cr@t',
    });
    expect(redactUrl('postgres://u:p@db:5432/x')).toBe('postgres://***@db:5432/x');
  });

  it('refuses a scheme it cannot serve, saying what to use instead', () => {
    expect(() => resolveSettings({}, { MLFLOW_TRACKING_URI: 'sqlite:///mlflow.db' })).toThrow(
      'The tracking URI scheme "sqlite:" is not supported by mlflow-kit: use http(s):// for an MLflow server (for a SQL database, run `mlflow server --backend-store-uri sqlite:...` and point at it)',
    );
  });

  it('refuses insecure TLS together with a CA bundle, as MLflow does', () => {
    expect(() =>
      resolveSettings(
        {},
        { MLFLOW_TRACKING_INSECURE_TLS: 'true', MLFLOW_TRACKING_SERVER_CERT_PATH: '/ca.pem' },
      ),
    ).toThrow('contradict each other');
  });
});
