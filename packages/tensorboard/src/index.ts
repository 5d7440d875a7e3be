export type { EventFileWriterOptions } from './internal/event-file-writer.js';
export type { ImageData, ImageFormat, ImagesFormat } from './internal/image.js';
export type { RunBindingOptions } from './internal/run-binding.js';
export type { HparamValue } from './internal/summary-proto.js';
export type { NumericData, TensorLike } from './internal/tensor-like.js';
export { SummaryFileWriter, summaryFileWriter } from './summary-file-writer.js';
export { SummaryWriter, type SummaryWriterOptions } from './summary-writer.js';
export {
  type CallbackLogs,
  type ModelWeightsLike,
  TensorBoardCallback,
  type TensorBoardCallbackArgs,
  tensorBoard,
} from './tensor-board.js';
