import { MlflowValidationError } from '@mlflow-kit/core';
import { isTensorLike, type TensorLike } from './tensor-like.js';

/** Layout of one image's dimensions: channels, height, width (`C`, `H`, `W`). */
export type ImageFormat = 'CHW' | 'HWC' | 'HW';
/** Layout of a batch of images (`N` first). */
export type ImagesFormat = 'NCHW' | 'NHWC' | 'NHW';

/** Pixels as a tfjs tensor, a typed array or a plain array of numbers. */
export type ImageData = TensorLike | ArrayLike<number>;

/** An 8-bit RGBA image. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

function pixels(
  tag: string,
  image: ImageData,
  shape: readonly number[] | undefined,
): {
  values: ArrayLike<number>;
  shape: number[];
  bytes: boolean;
} {
  if (isTensorLike(image)) {
    // tfjs has no uint8 dtype: int32 images (tf.node.decodeImage, tf.browser.fromPixels) hold 0–255.
    return {
      values: image.dataSync() as ArrayLike<number>,
      shape: [...image.shape],
      bytes: image.dtype === 'int32',
    };
  }
  if (!shape) {
    throw new MlflowValidationError(
      tag,
      `Image ${tag} is a plain array: pass its shape too (options.shape), or pass a tensor.`,
    );
  }
  return {
    values: image,
    shape: [...shape],
    bytes: image instanceof Uint8Array || image instanceof Uint8ClampedArray,
  };
}

function toByte(value: number, bytes: boolean): number {
  const scaled = bytes ? value : value * 255;
  return Number.isNaN(scaled) ? 0 : Math.max(0, Math.min(255, Math.round(scaled)));
}

/**
 * Converts a batch of images in `format` to RGBA images (grey is copied to R, G and B; RGB gets an opaque
 * alpha). Floats are taken as 0–1 and scaled to 0–255; `Uint8Array`s and int32 tensors as 0–255.
 * Throws {@link MlflowValidationError} naming `tag` when the shape does not fit the format.
 */
export function toRgbaImages(
  tag: string,
  image: ImageData,
  format: ImageFormat | ImagesFormat,
  shapeHint?: readonly number[],
): RgbaImage[] {
  const { values, shape, bytes } = pixels(tag, image, shapeHint);
  const batched = format.startsWith('N');
  const layout = batched ? format.slice(1) : format;
  const expectedRank = layout.length + (batched ? 1 : 0);
  const describe = `shape [${shape.join(', ')}] for format ${format}`;
  if (shape.length !== expectedRank || shape.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw new MlflowValidationError(
      tag,
      `Image ${tag} has ${describe}: ${format} needs ${expectedRank} positive dimensions.`,
    );
  }
  const count = batched ? (shape[0] as number) : 1;
  const dims = batched ? shape.slice(1) : shape;
  const channels = layout === 'HW' ? 1 : (dims[layout.indexOf('C')] as number);
  const height = dims[layout.indexOf('H')] as number;
  const width = dims[layout.indexOf('W')] as number;
  if (![1, 3, 4].includes(channels)) {
    throw new MlflowValidationError(
      tag,
      `Image ${tag} has ${channels} channels (${describe}): use 1 (grey), 3 (RGB) or 4 (RGBA), or check the dataformats.`,
    );
  }
  const perImage = channels * height * width;
  if (values.length !== perImage * count) {
    throw new MlflowValidationError(
      tag,
      `Image ${tag} has ${values.length} values, but ${describe} needs ${perImage * count}.`,
    );
  }
  const channelFirst = layout === 'CHW';
  const images: RgbaImage[] = [];
  for (let n = 0; n < count; n++) {
    const base = n * perImage;
    const data = new Uint8Array(width * height * 4);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const pixel = y * width + x;
        const at = (c: number): number =>
          toByte(
            values[base + (channelFirst ? c * height * width + pixel : pixel * channels + c)] as number,
            bytes,
          );
        const out = pixel * 4;
        if (channels === 1) {
          const grey = at(0);
          data[out] = grey;
          data[out + 1] = grey;
          data[out + 2] = grey;
          data[out + 3] = 255;
        } else {
          data[out] = at(0);
          data[out + 1] = at(1);
          data[out + 2] = at(2);
          data[out + 3] = channels === 4 ? at(3) : 255;
        }
      }
    }
    images.push({ width, height, data });
  }
  return images;
}

/** Tiles images of equal size into one grid image, up to 8 per row (as torch's `make_grid`, without padding). */
export function tileImages(images: RgbaImage[]): RgbaImage {
  if (images.length === 1) return images[0] as RgbaImage;
  const first = images[0] as RgbaImage;
  const columns = Math.min(8, images.length);
  const rows = Math.ceil(images.length / columns);
  const width = first.width * columns;
  const height = first.height * rows;
  const data = new Uint8Array(width * height * 4);
  images.forEach((image, index) => {
    const left = (index % columns) * first.width;
    const top = Math.floor(index / columns) * first.height;
    for (let y = 0; y < image.height; y++) {
      data.set(
        image.data.subarray(y * image.width * 4, (y + 1) * image.width * 4),
        ((top + y) * width + left) * 4,
      );
    }
  });
  return { width, height, data };
}
