import { constants } from 'node:fs';
import { access, readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type ResolvedSettings, redactUrl, resolveSettings, type TrackingOptions } from '@mlflow-kit/core';
import { tlsConnectOptions } from '@mlflow-kit/core/internal';
import { Agent, fetch, type Response } from 'undici';

/** Outcome of one check of {@link runDoctor}. */
export type DoctorStatus = 'ok' | 'info' | 'warn' | 'fail' | 'skip';

/** One line of the doctor's report. */
export interface DoctorCheck {
  /** Short name, such as `server reachable`. */
  name: string;
  status: DoctorStatus;
  /** What was found, and for problems, how to fix it. */
  detail: string;
}

/** The result of {@link runDoctor}. */
export interface DoctorReport {
  /** The tracking URI in use, without credentials. */
  trackingUri: string;
  /** Whether tracking is on. */
  enabled: boolean;
  /** `rest` or `local`. */
  storeKind: ResolvedSettings['storeKind'];
  /** MLflow version of the server, when it answered. */
  serverVersion?: string;
  checks: DoctorCheck[];
  /** `true` when no check failed. */
  ok: boolean;
}

/** Options of {@link runDoctor}: the same settings a run uses, plus the environment to read. */
export interface DoctorOptions extends Omit<TrackingOptions, 'store'> {
  /** Environment variables to resolve settings from. @defaultValue `process.env` */
  env?: Record<string, string | undefined>;
  /** Time allowed for each request to the server, in milliseconds. @defaultValue 10000 */
  timeoutMs?: number;
}

function authHeaders(settings: ResolvedSettings): Record<string, string> {
  const headers: Record<string, string> = { ...settings.headers };
  if (settings.username !== undefined && settings.password !== undefined) {
    headers.authorization = `Basic ${Buffer.from(`${settings.username}:${settings.password}`).toString('base64')}`;
  } else if (settings.token !== undefined) {
    headers.authorization = `Bearer ${settings.token}`;
  }
  return headers;
}

function networkProblem(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return cause.code;
  if (cause?.message) return cause.message;
  if ((error as { name?: string }).name === 'TimeoutError') return 'timed out';
  return error instanceof Error ? error.message : String(error);
}

async function checkLocal(settings: ResolvedSettings, checks: DoctorCheck[]): Promise<void> {
  const path = settings.localPath ?? '';
  const info = await stat(path).catch(() => undefined);
  if (!info) {
    let parent = dirname(path);
    while (!(await stat(parent).catch(() => undefined)) && dirname(parent) !== parent)
      parent = dirname(parent);
    const writable = await access(parent, constants.W_OK).then(
      () => true,
      () => false,
    );
    checks.push(
      writable
        ? {
            name: 'local store',
            status: 'ok',
            detail: `${path} does not exist yet; it is created by the first run`,
          }
        : {
            name: 'local store',
            status: 'fail',
            detail: `${path} cannot be created: ${parent} is not writable. Point MLFLOW_TRACKING_URI at a writable directory.`,
          },
    );
  } else if (!info.isDirectory()) {
    checks.push({
      name: 'local store',
      status: 'fail',
      detail: `${path} is a file, not a directory: point MLFLOW_TRACKING_URI at a directory.`,
    });
    return;
  } else {
    const writable = await access(path, constants.W_OK).then(
      () => true,
      () => false,
    );
    let experiments: string[] = [];
    let runs = 0;
    try {
      const entries = await readdir(path, { withFileTypes: true });
      experiments = entries
        .filter((entry) => entry.isDirectory() && /^[0-9]+$/.test(entry.name))
        .map((entry) => entry.name);
      for (const experiment of experiments) {
        const children = await readdir(join(path, experiment), { withFileTypes: true });
        runs += children.filter((child) => child.isDirectory() && /^[0-9a-f]{32}$/.test(child.name)).length;
      }
    } catch (error) {
      // A report, not a crash: an unreadable folder is one more finding.
      checks.push({
        name: 'local store',
        status: 'fail',
        detail: `${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)}): check the permissions of the directory and its experiment folders.`,
      });
      return;
    }
    checks.push({
      name: 'local store',
      status: writable ? 'ok' : 'fail',
      detail: `${path}: ${experiments.length} experiments, ${runs} runs${writable ? '' : '; the directory is not writable'}`,
    });
  }
  checks.push({
    name: 'viewing local runs',
    status: 'info',
    detail: `MLFLOW_ALLOW_FILE_STORE=true mlflow server --backend-store-uri ${path}   (or upload: mlflow-kit sync ${path} --to <tracking-uri>)`,
  });
}

async function checkServer(
  settings: ResolvedSettings,
  checks: DoctorCheck[],
  timeoutMs: number,
): Promise<string | undefined> {
  // The same TLS settings as tracking (insecure TLS, CA bundle, client certificate), so a server that
  // works for tracking passes here and one that does not fails for the same reason.
  const dispatcher = new Agent({ connect: tlsConnectOptions(settings) });
  try {
    return await probeServer(settings, checks, timeoutMs, dispatcher);
  } finally {
    await dispatcher.close();
  }
}

async function probeServer(
  settings: ResolvedSettings,
  checks: DoctorCheck[],
  timeoutMs: number,
  dispatcher: Agent,
): Promise<string | undefined> {
  const base = settings.trackingUri.replace(/\/+$/, '');
  const headers = authHeaders(settings);
  const request = (
    path: string,
    init: { method?: string; headers?: Record<string, string>; body?: string } = {},
  ): Promise<Response> =>
    fetch(`${base}${path}`, {
      ...init,
      headers: { ...headers, ...init.headers },
      signal: AbortSignal.timeout(timeoutMs),
      dispatcher,
    });

  try {
    const response = await request('/health');
    const body = (await response.text()).trim();
    if (!response.ok) {
      checks.push({
        name: 'server reachable',
        status: 'fail',
        detail: `${base}/health answered ${response.status}: is this an MLflow tracking server?`,
      });
      return undefined;
    }
    checks.push({
      name: 'server reachable',
      status: 'ok',
      detail: `${base} answered /health with ${JSON.stringify(body.slice(0, 40))}`,
    });
  } catch (error) {
    checks.push({
      name: 'server reachable',
      status: 'fail',
      detail: `${base} did not answer (${networkProblem(error)}): start it with \`mlflow server --host 127.0.0.1 --port <port>\`, or fix MLFLOW_TRACKING_URI.`,
    });
    for (const name of ['auth accepted', 'server version', 'artifact proxy'])
      checks.push({ name, status: 'skip', detail: 'the server did not answer' });
    return undefined;
  }

  try {
    const response = await request('/api/2.0/mlflow/experiments/search', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ max_results: 1 }),
    });
    const hasCredentials = headers.authorization !== undefined;
    if (response.ok) {
      checks.push({
        name: 'auth accepted',
        status: 'ok',
        detail: hasCredentials ? 'the credentials were accepted' : 'the server needs no credentials',
      });
    } else if (response.status === 401) {
      checks.push({
        name: 'auth accepted',
        status: 'fail',
        detail: hasCredentials
          ? 'the server rejected the credentials (401): check MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD or MLFLOW_TRACKING_TOKEN.'
          : 'the server wants credentials (401): set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN.',
      });
    } else if (response.status === 403) {
      checks.push({
        name: 'auth accepted',
        status: 'fail',
        detail: 'the user may not read experiments (403): ask the server admin for permissions.',
      });
    } else {
      checks.push({
        name: 'auth accepted',
        status: 'warn',
        detail: `searching experiments answered ${response.status}`,
      });
    }
  } catch (error) {
    checks.push({
      name: 'auth accepted',
      status: 'fail',
      detail: `the request failed (${networkProblem(error)})`,
    });
  }

  let version: string | undefined;
  try {
    const response = await request('/version');
    const text = (await response.text()).trim();
    if (response.ok && /^\d+\.\d+/.test(text)) {
      version = text;
      const major = Number(text.split('.')[0]);
      checks.push({
        name: 'server version',
        status: major >= 2 ? 'ok' : 'warn',
        detail:
          major >= 2
            ? `MLflow ${text}`
            : `MLflow ${text}: mlflow-kit is tested with MLflow 3; upgrade the server if calls fail.`,
      });
    } else {
      checks.push({
        name: 'server version',
        status: 'warn',
        detail: `/version answered ${response.status}; the version is unknown`,
      });
    }
  } catch (error) {
    checks.push({
      name: 'server version',
      status: 'warn',
      detail: `/version failed (${networkProblem(error)})`,
    });
  }

  try {
    const response = await request('/api/2.0/mlflow-artifacts/artifacts?path=');
    if (response.ok) {
      checks.push({
        name: 'artifact proxy',
        status: 'ok',
        detail: 'on: artifacts go through the server (`--serve-artifacts`)',
      });
    } else if (response.status === 401 || response.status === 403) {
      checks.push({
        name: 'artifact proxy',
        status: 'warn',
        detail: `the artifact API answered ${response.status}: the credentials may not write artifacts.`,
      });
    } else {
      checks.push({
        name: 'artifact proxy',
        status: 'warn',
        detail: `off (the artifact API answered ${response.status}): start the server with --serve-artifacts (the default) so runs can log artifacts through it.`,
      });
    }
  } catch (error) {
    checks.push({
      name: 'artifact proxy',
      status: 'warn',
      detail: `the artifact API did not answer (${networkProblem(error)})`,
    });
  }
  return version;
}

/**
 * Checks a configuration the way a run would resolve it: the tracking URI and where it came from, whether
 * tracking is on and why, and then either the local store (exists, writable, how many runs) or the server
 * (reachable, credentials accepted, MLflow version, artifact proxy on). Never throws for a failing check;
 * throws `MlflowConfigError` for settings that cannot work at all.
 *
 * @example
 * ```ts
 * import { runDoctor } from '@mlflow-kit/cli';
 * const report = await runDoctor({ trackingUri: 'http://127.0.0.1:5000' });
 * if (!report.ok) console.error(report.checks.filter((check) => check.status === 'fail'));
 * ```
 */
export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  const { env = process.env, timeoutMs = 10_000, ...trackingOptions } = options;
  const settings = resolveSettings(trackingOptions, env);
  const checks: DoctorCheck[] = [];
  const uriSource =
    settings.trackingUriSource === 'default'
      ? 'default: no MLFLOW_TRACKING_URI set'
      : settings.trackingUriSource === 'option'
        ? 'from --tracking-uri'
        : 'from MLFLOW_TRACKING_URI';
  checks.push({
    name: 'tracking URI',
    status: 'info',
    detail: `${redactUrl(settings.trackingUri)} (${uriSource}; ${settings.storeKind === 'rest' ? 'tracking server' : 'local store'})`,
  });
  const enabledWhy =
    settings.enabledSource === 'default'
      ? 'off by default: set MLFLOW_KIT_ENABLED=1 or pass `enabled: true` to record runs'
      : settings.enabledSource === 'option'
        ? `${settings.enabled ? 'on' : 'off'} (the enabled option)`
        : `${settings.enabled ? 'on' : 'off'} (MLFLOW_KIT_ENABLED=${env.MLFLOW_KIT_ENABLED ?? ''})`;
  checks.push({ name: 'tracking on', status: settings.enabled ? 'ok' : 'warn', detail: enabledWhy });

  let serverVersion: string | undefined;
  if (settings.storeKind === 'local') await checkLocal(settings, checks);
  else serverVersion = await checkServer(settings, checks, timeoutMs);

  const report: DoctorReport = {
    trackingUri: redactUrl(settings.trackingUri),
    enabled: settings.enabled,
    storeKind: settings.storeKind,
    checks,
    ok: checks.every((check) => check.status !== 'fail'),
  };
  if (serverVersion !== undefined) report.serverVersion = serverVersion;
  return report;
}

const MARKS: Record<DoctorStatus, string> = { ok: '✓', info: '·', warn: '!', fail: '✗', skip: '-' };

/** Formats a {@link DoctorReport} as the lines `mlflow-kit doctor` prints. */
export function formatDoctorReport(report: DoctorReport): string {
  const width = Math.max(...report.checks.map((check) => check.name.length));
  const lines = report.checks.map(
    (check) => `${MARKS[check.status]} ${check.name.padEnd(width)}  ${check.detail}`,
  );
  lines.push(report.ok ? 'All checks passed.' : 'Some checks failed: see the lines marked ✗.');
  return lines.join('\n');
}
