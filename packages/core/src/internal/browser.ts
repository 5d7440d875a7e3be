/**
 * `@mlflow-kit/core/internal` in a web page (the `browser` export condition): the glue that mlflow-kit's
 * adapters share with core, without the Node-only parts (TLS options, the synchronous PNG encoder, the
 * Node run start). Not a public API: see `./index.ts`.
 *
 * @packageDocumentation
 */

export { pageRunTags as defaultRunTags } from '../browser/page-run-tags.js';
export { resolveBrowserSettings } from '../browser/settings.js';
export { createPageRun } from '../browser/start-run.js';
export { applyDebugOption } from './apply-debug-option.js';
export { bridgePrototype } from './bridge-prototype.js';
export { globalPart } from './global.js';
export { LOGGED_MODEL_METRICS_PER_CALL, LOGGED_MODEL_PARAMS_PER_CALL } from './logged-model-limits.js';
