import { MlflowConfigError } from '../errors.js';
import { resolveTransportSettings } from '../internal/setting-parsers.js';
import { redactUrl } from '../redact.js';
import type { ResolvedSettings, TrackingOptions } from '../settings.js';

/**
 * Resolves the options of a run started in a web page. A page has no environment variables and no local
 * store: the options are the whole configuration, `trackingUri` must be the http(s) URL of an MLflow server
 * that allows the page's origin (CORS), and TLS is the browser's business.
 *
 * Throws {@link MlflowConfigError} naming the option to fix.
 */
export function resolveBrowserSettings(options: TrackingOptions = {}): ResolvedSettings {
  const given = options.trackingUri?.trim();
  if (!given) {
    throw new MlflowConfigError(
      'In a web page, pass `trackingUri`: the http(s) URL of the MLflow server, such as http://127.0.0.1:5000 (a page has no MLFLOW_TRACKING_URI and no local ./mlruns store).',
      { setting: 'trackingUri' },
    );
  }
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    url = new URL('invalid:');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new MlflowConfigError(
      `The tracking URI ${redactUrl(given)} is not an http(s) URL: in a web page, pass \`trackingUri\` as the URL of the MLflow server, such as http://127.0.0.1:5000.`,
      { setting: 'trackingUri' },
    );
  }
  for (const option of ['insecureTls', 'serverCertPath', 'clientCertPath'] as const) {
    if (options[option] !== undefined && options[option] !== false) {
      throw new MlflowConfigError(
        `\`${option}\` has no effect in a web page, where the browser verifies TLS: remove it (trust the server's certificate in the browser or the system instead).`,
        { setting: option },
      );
    }
  }
  const username = options.username ?? (url.username ? decodeURIComponent(url.username) : undefined);
  const password = options.password ?? (url.password ? decodeURIComponent(url.password) : undefined);
  if (password && !username) {
    throw new MlflowConfigError(
      'A tracking `password` is given without a `username`: pass `username` too, or `token` for a bearer token.',
      { setting: 'username' },
    );
  }
  url.username = '';
  url.password = '';
  const resolved: ResolvedSettings = {
    enabled: options.enabled ?? false,
    enabledSource: options.enabled === undefined ? 'default' : 'option',
    trackingUri: url.href.replace(/\/+$/, ''),
    trackingUriSource: 'option',
    storeKind: 'rest',
    insecureTls: false,
    ...resolveTransportSettings(options, {}),
  };
  if (username) resolved.username = username;
  if (password) resolved.password = password;
  if (options.token) resolved.token = options.token;
  return resolved;
}
