/**
 * `@mlflow-kit/core/internal`: the glue mlflow-kit's own adapter packages (`@mlflow-kit/tfjs`,
 * `@mlflow-kit/tensorboard`, `@mlflow-kit/config`, `@mlflow-kit/cli`) share with core.
 *
 * Not a public API: these exports may change or disappear in any release, patch releases included (they are
 * exempt from semver, like OpenTelemetry's and tRPC's internal entry points); the adapters are released
 * together with core. Applications and third-party adapters use `@mlflow-kit/core`.
 *
 * @packageDocumentation
 */

// The run start of a web page and its settings, here too so that adapters' browser entries type-check against
// this entry.
export { resolveBrowserSettings } from '../browser/settings.js';
export { createPageRun } from '../browser/start-run.js';
export { createRecordingRun } from '../start-run.js';
export { applyDebugOption } from './apply-debug-option.js';
export { bridgePrototype } from './bridge-prototype.js';
export { defaultRunTags } from './default-tags.js';
export { encodePng } from './encode-png.js';
export { globalPart } from './global.js';
export { LOGGED_MODEL_METRICS_PER_CALL, LOGGED_MODEL_PARAMS_PER_CALL } from './logged-model-limits.js';
export { type TlsConnectOptions, tlsConnectOptions } from './tls.js';
