export { type FlattenParamsOptions, flattenParams } from './flatten-params.js';
export { type LoadConfigOptions, loadConfig } from './load-config.js';
export { type LogConfigOptions, type LongValueStrategy, logConfig } from './log-config.js';
export {
  isSecretKey,
  REDACTED,
  type RedactOptions,
  type RedactResult,
  redactConfig,
  redactUrlCredentials,
} from './redact.js';
export { type ConfigFieldMeta, secret } from './secret.js';
