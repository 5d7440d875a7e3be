/**
 * `@mlflow-kit/tensorboard` in a web page (the `browser` export condition): `SummaryWriter` on
 * `@mlflow-kit/core`'s browser entry, logging to MLflow only. The event-file tee is Node-only (a page has no
 * disk), and so are the tfjs-node drop-ins `summaryFileWriter` and `tensorBoard`, whose purpose is event files
 * and whose own runs end at process exit; in a page, use `SummaryWriter`, or `@mlflow-kit/tfjs`'s callback.
 *
 * @packageDocumentation
 */

export { SummaryWriter } from './browser/summary-writer.js';
export type { ImageData, ImageFormat, ImagesFormat } from './internal/image.js';
export type { RunBindingOptions } from './internal/run-binding.js';
export type { HparamValue } from './internal/summary-proto.js';
export type { SummaryWriterOptions } from './internal/summary-writer-base.js';
export type { NumericData, TensorLike } from './internal/tensor-like.js';
