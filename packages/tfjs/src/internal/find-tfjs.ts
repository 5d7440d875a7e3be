import { diag, MlflowConfigError } from '@mlflow-kit/core';
import type { TfjsInfoSource } from './tfjs-info.js';

/** The `tf` module as {@link findTfjs} returns it: a `Callback` class is what makes it usable. */
export type FoundTfjs = TfjsInfoSource & {
  Callback: { prototype: object };
  EarlyStopping?: unknown;
  LayersModel?: { prototype: object };
};

// Entry files of the packages that export `tf.Callback`, most preferred first (tfjs-node runs native TensorFlow).
const ENTRIES: [RegExp, string][] = [
  [/[\\/]@tensorflow[\\/]tfjs-node(-gpu)?[\\/]dist[\\/]index\.js$/, '@tensorflow/tfjs-node'],
  [/[\\/]@tensorflow[\\/]tfjs[\\/]dist[\\/]tf\.node\.js$/, '@tensorflow/tfjs'],
  [/[\\/]@tensorflow[\\/]tfjs-layers[\\/]dist[\\/]tf-layers\.node\.js$/, '@tensorflow/tfjs-layers'],
];
const LOADABLE = ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs'];

type Require = NodeJS.Require;

// Node's module loader, reached at run time (Node ≥ 20.16 has `process.getBuiltinModule`), so that a web page's
// bundle of this package reaches no `node:` module; a page has none, and there `{ tf }` must be passed.
function nodeRequires(): { local: Require; program: Require } | undefined {
  const getBuiltin = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
    ?.getBuiltinModule;
  if (!getBuiltin) return undefined;
  const { createRequire } = getBuiltin('node:module') as typeof import('node:module');
  return {
    local: createRequire(import.meta.url),
    program: createRequire(`${process.cwd()}/package.json`),
  };
}

function usable(value: unknown): value is FoundTfjs {
  const callback = (value as { Callback?: { prototype?: unknown } } | null)?.Callback;
  return typeof callback === 'function' && typeof callback.prototype === 'object';
}

/** Copies of tfjs already loaded in this process (Node's module cache), one per `Callback` class, preferred first. */
function loadedCopies(localRequire: Require): { tf: FoundTfjs; file: string }[] {
  const found: { tf: FoundTfjs; file: string; rank: number }[] = [];
  for (const [file, module] of Object.entries(localRequire.cache)) {
    const rank = ENTRIES.findIndex(([pattern]) => pattern.test(file));
    if (rank < 0 || !usable(module?.exports)) continue;
    const tf = module.exports;
    if (!found.some((copy) => copy.tf.Callback === tf.Callback)) found.push({ tf, file, rank });
    else {
      const same = found.find((copy) => copy.tf.Callback === tf.Callback)!;
      if (rank < same.rank) Object.assign(same, { tf, file, rank });
    }
  }
  return found.sort((a, b) => a.rank - b.rank);
}

/** Loads tfjs the way the program would: resolved from the working directory first, then from this package. */
function loadTfjs(requires: Require[]): FoundTfjs | undefined {
  for (const name of LOADABLE) {
    for (const load of requires) {
      try {
        const tf: unknown = load(name);
        if (usable(tf)) return tf;
      } catch {
        // Not installed there, or tfjs-node without its native addon: try the next one.
      }
    }
  }
  return undefined;
}

/**
 * The TensorFlow.js module the program trains with, found synchronously: a copy already loaded (tfjs-node
 * preferred), else `@tensorflow/tfjs-node` or `@tensorflow/tfjs` loaded from the working directory or from
 * here. Throws a {@link MlflowConfigError} saying to pass `{ tf }` when there is none.
 */
export function findTfjs(): FoundTfjs {
  const node = nodeRequires();
  const loaded = node ? loadedCopies(node.local) : [];
  if (loaded.length > 1) {
    diag.once(
      '@mlflow-kit/tfjs:several-copies',
      'warn',
      `mlflowCallback found ${loaded.length} copies of TensorFlow.js (${loaded.map((copy) => copy.file).join(', ')}) and uses the first; a callback only works in any position of the callbacks list with the copy the model is built with: pass \`{ tf }\` from that one.`,
    );
  }
  const tf = loaded[0]?.tf ?? (node ? loadTfjs([node.program, node.local]) : undefined);
  if (!tf) {
    throw new MlflowConfigError(
      node
        ? 'mlflowCallback could not find TensorFlow.js (neither @tensorflow/tfjs-node nor @tensorflow/tfjs is loaded or installed): pass `{ tf }`, the module your model is built with.'
        : 'mlflowCallback cannot look TensorFlow.js up in a web page: pass `{ tf }`, the module your model is built with.',
      { setting: 'tf' },
    );
  }
  return tf;
}
