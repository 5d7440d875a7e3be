import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDoctor } from './doctor.js';

// An HTTPS stand-in for a tracking server behind a certificate the system does not trust.
let server: Server;
let uri = '';
let certPath = '';

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlflow-kit-doctor-tls-'));
  certPath = join(dir, 'server.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'server.key',
      '-out',
      'server.pem',
      '-days',
      '2',
    ].concat(['-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']),
    { cwd: dir, stdio: 'ignore' },
  );
  server = createServer(
    { key: readFileSync(join(dir, 'server.key')), cert: readFileSync(certPath) },
    (request, response) => {
      if (request.url === '/health') response.end('OK');
      else if (request.url === '/version') response.end('3.17.2');
      else response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  uri = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const reachable = async (options: { insecureTls?: boolean; serverCertPath?: string }) =>
  (await runDoctor({ trackingUri: uri, enabled: true, env: {}, timeoutMs: 5000, ...options })).checks.find(
    (check) => check.name === 'server reachable',
  )?.status;

describe('doctor over TLS', () => {
  it('fails a server whose certificate is not trusted, as tracking would', async () => {
    expect(await reachable({})).toBe('fail');
  });

  it('passes it with the CA bundle that tracking would use', async () => {
    expect(await reachable({ serverCertPath: certPath })).toBe('ok');
  });

  it('passes it with insecure TLS, as tracking would', async () => {
    expect(await reachable({ insecureTls: true })).toBe('ok');
  });
});
