import { readFileSync } from 'node:fs';
import type { ResolvedSettings } from '../settings.js';

/** TLS options of a connection to the tracking server, in the shape of Node's `tls.connect`. */
export interface TlsConnectOptions {
  rejectUnauthorized?: boolean;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/**
 * The TLS options the settings ask for (`insecureTls`, `serverCertPath`, `clientCertPath`), read the way
 * MLflow's Python client reads them. Every connection to the server uses these, so tools such as
 * `mlflow-kit doctor` see the server as tracking does.
 */
export function tlsConnectOptions(settings: ResolvedSettings): TlsConnectOptions {
  const options: TlsConnectOptions = {};
  if (settings.insecureTls) options.rejectUnauthorized = false;
  if (settings.serverCertPath) options.ca = readFileSync(settings.serverCertPath);
  if (settings.clientCertPath) {
    // requests' `cert=<pem>` takes one file holding both the certificate and its key.
    const pem = readFileSync(settings.clientCertPath);
    options.cert = pem;
    options.key = pem;
  }
  return options;
}
