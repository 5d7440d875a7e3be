import { ProtoWriter, utf8 } from './proto-writer.js';

// Field numbers from tensorflow/core/util/event.proto, tensorflow/core/framework/summary.proto,
// tensor.proto, tensor_shape.proto and tensorboard/plugins/hparams/{plugin_data,api}.proto.

/** `DataType` values of `TensorProto.dtype` used here. */
export const DT_FLOAT = 1;
/** `DT_STRING`. */
export const DT_STRING = 7;

/** The fields of an `Event` record this writer emits. */
export interface EventFields {
  /** Seconds since the epoch, with fraction. */
  wallTime: number;
  step?: number;
  /** `brain.Event:2` in the first record of a file. */
  fileVersion?: string;
  /** An encoded `Summary`. */
  summary?: Uint8Array;
}

/** Encodes an `Event`. */
export function encodeEvent(event: EventFields): Uint8Array {
  const writer = new ProtoWriter(32 + (event.summary?.length ?? 0));
  writer.double(1, event.wallTime);
  if (event.step !== undefined && event.step !== 0) writer.varint(2, event.step);
  if (event.fileVersion !== undefined) writer.string(3, event.fileVersion);
  if (event.summary !== undefined) writer.bytes(5, event.summary);
  return writer.finish();
}

/** Encodes a `Summary` of the given encoded `Summary.Value`s. */
export function encodeSummary(values: Uint8Array[]): Uint8Array {
  const writer = new ProtoWriter();
  for (const value of values) writer.bytes(1, value);
  return writer.finish();
}

/** The fields of a `SummaryMetadata`. */
export interface MetadataFields {
  pluginName: string;
  /** The plugin's own encoded data (often an empty message, i.e. version 0). */
  content?: Uint8Array;
  displayName?: string;
  description?: string;
  /** `DATA_CLASS_SCALAR` = 1, `DATA_CLASS_TENSOR` = 2, `DATA_CLASS_BLOB_SEQUENCE` = 3. */
  dataClass?: number;
}

/** Encodes a `SummaryMetadata`. */
export function encodeMetadata(fields: MetadataFields): Uint8Array {
  const pluginData = new ProtoWriter().string(1, fields.pluginName);
  if (fields.content !== undefined && fields.content.length > 0) pluginData.bytes(2, fields.content);
  const writer = new ProtoWriter().bytes(1, pluginData.finish());
  if (fields.displayName) writer.string(2, fields.displayName);
  if (fields.description) writer.string(3, fields.description);
  if (fields.dataClass) writer.varint(4, fields.dataClass);
  return writer.finish();
}

/** The `pr_curves` plugin's metadata: `PrCurvePluginData { version: 0, num_thresholds }`, as torch writes it. */
export function prCurveMetadata(numThresholds: number): Uint8Array {
  return encodeMetadata({
    pluginName: 'pr_curves',
    content: new ProtoWriter().varint(2, numThresholds).finish(),
  });
}

/** A `Summary.Value` holding `simple_value`, as `WriteScalarSummary` (tfjs-node) and torch write scalars. */
export function scalarValue(tag: string, value: number): Uint8Array {
  return new ProtoWriter(tag.length + 12).string(1, tag).float(2, value).finish();
}

/** The fields of a `HistogramProto`. */
export interface HistogramFields {
  min: number;
  max: number;
  num: number;
  sum: number;
  sumSquares: number;
  /** Right edge of each bucket. */
  bucketLimit: ArrayLike<number>;
  bucket: ArrayLike<number>;
}

/** A `Summary.Value` holding a `HistogramProto` (`histo`), as torch's `add_histogram` writes. */
export function histogramValue(tag: string, histogram: HistogramFields, metadata?: Uint8Array): Uint8Array {
  const histo = new ProtoWriter(64 + histogram.bucket.length * 18)
    .double(1, histogram.min)
    .double(2, histogram.max)
    .double(3, histogram.num)
    .double(4, histogram.sum)
    .double(5, histogram.sumSquares)
    .packedDoubles(6, histogram.bucketLimit)
    .packedDoubles(7, histogram.bucket)
    .finish();
  const writer = new ProtoWriter(histo.length + tag.length + 8).string(1, tag);
  if (metadata) writer.bytes(9, metadata);
  return writer.bytes(5, histo).finish();
}

/** The fields of a `Summary.Image`. */
export interface ImageFields {
  height: number;
  width: number;
  /** 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA. */
  colorspace: number;
  png: Uint8Array;
}

/** A `Summary.Value` holding an image. */
export function imageValue(tag: string, image: ImageFields): Uint8Array {
  const body = new ProtoWriter(image.png.length + 16)
    .varint(1, image.height)
    .varint(2, image.width)
    .varint(3, image.colorspace)
    .bytes(4, image.png)
    .finish();
  return new ProtoWriter(body.length + tag.length + 8).string(1, tag).bytes(4, body).finish();
}

function shape(dims: readonly number[]): Uint8Array {
  const writer = new ProtoWriter();
  for (const size of dims) writer.bytes(2, new ProtoWriter().varint(1, size).finish());
  return writer.finish();
}

/** A float32 `TensorProto` with its values in `tensor_content`, as TensorFlow's `AsProtoTensorContent`. */
export function floatTensor(dims: readonly number[], values: Float32Array): Uint8Array {
  const content = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const writer = new ProtoWriter(content.length + 32).varint(1, DT_FLOAT).bytes(2, shape(dims));
  if (content.length > 0) writer.bytes(4, content);
  return writer.finish();
}

/** A string `TensorProto` with its values in `string_val`, as TensorFlow writes string tensors. */
export function stringTensor(dims: readonly number[], values: readonly string[]): Uint8Array {
  const writer = new ProtoWriter().varint(1, DT_STRING).bytes(2, shape(dims));
  for (const value of values) writer.bytes(8, utf8(value));
  return writer.finish();
}

/** A `Summary.Value` holding a tensor and its metadata. */
export function tensorValue(tag: string, tensor: Uint8Array, metadata: Uint8Array): Uint8Array {
  return new ProtoWriter(tensor.length + metadata.length + tag.length + 12)
    .string(1, tag)
    .bytes(9, metadata)
    .bytes(8, tensor)
    .finish();
}

/** A `Summary.Value` carrying only metadata (how the hparams plugin records its summaries). */
export function metadataValue(tag: string, metadata: Uint8Array): Uint8Array {
  return new ProtoWriter().string(1, tag).bytes(9, metadata).finish();
}

/** A hyperparameter value: what `google.protobuf.Value` can hold here. */
export type HparamValue = string | number | boolean;

function protobufValue(value: HparamValue): Uint8Array {
  const writer = new ProtoWriter();
  if (typeof value === 'number') writer.double(2, value);
  else if (typeof value === 'string') writer.string(3, value);
  else writer.varint(4, value);
  return writer.finish();
}

const HPARAM_TYPE = { string: 1, boolean: 2, number: 3 } as const;

/** `HParamsPluginData{version: 0, experiment}` listing the hparams and metrics, as torch's `hparams()` writes. */
export function hparamsExperiment(hparams: Record<string, HparamValue>, metricTags: string[]): Uint8Array {
  const experiment = new ProtoWriter();
  for (const [name, value] of Object.entries(hparams)) {
    const info = new ProtoWriter()
      .string(1, name)
      .varint(4, HPARAM_TYPE[typeof value as keyof typeof HPARAM_TYPE])
      .finish();
    experiment.bytes(4, info);
  }
  for (const tag of metricTags) {
    const metricName = new ProtoWriter().string(2, tag).finish();
    experiment.bytes(5, new ProtoWriter().bytes(1, metricName).finish());
  }
  return new ProtoWriter().bytes(2, experiment.finish()).finish();
}

/** `HParamsPluginData{version: 0, session_start_info}` with the hparam values. */
export function hparamsSessionStart(hparams: Record<string, HparamValue>, startTimeSecs: number): Uint8Array {
  const info = new ProtoWriter();
  for (const [name, value] of Object.entries(hparams)) {
    info.bytes(1, new ProtoWriter().string(1, name).bytes(2, protobufValue(value)).finish());
  }
  info.double(5, startTimeSecs);
  return new ProtoWriter().bytes(3, info.finish()).finish();
}

/** `HParamsPluginData{version: 0, session_end_info}` with `STATUS_SUCCESS`. */
export function hparamsSessionEnd(endTimeSecs: number): Uint8Array {
  const info = new ProtoWriter().varint(1, 1).double(2, endTimeSecs).finish();
  return new ProtoWriter().bytes(4, info).finish();
}
