import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundleForBrowser } from '../helpers/browser-bundle.js';

const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`;

describe('the browser entry of @mlflow-kit/core', () => {
  it('bundles for the browser platform without reaching a Node built-in or undici, under 30 KB min+gzip', async () => {
    const bundle = await bundleForBrowser(
      {
        contents: "export * from '@mlflow-kit/core';\nexport * from '@mlflow-kit/core/internal';\n",
        resolveDir: import.meta.dirname,
      },
      join(tmpdir(), 'mlflow-kit-browser-bundle'),
    );
    expect(bundle.nodeImports).toEqual([]);
    const [entry, ...lazy] = bundle.files;
    // The size a page pays to load the entry; lazily loaded chunks (the yaml writer of logDict) come on use.
    console.info(
      `@mlflow-kit/core browser entry: ${kb(entry!.minBytes)} minified, ${kb(entry!.gzipBytes)} min+gzip; lazy chunks: ${lazy.map((file) => kb(file.gzipBytes)).join(', ')}`,
    );
    expect(entry!.gzipBytes).toBeLessThan(30 * 1024);
    // The browser entry, not the Node one: the fetch transport is in, the Node run start is not.
    expect(entry!.text).toContain('AbortSignal.timeout');
    expect(entry!.text).not.toContain('MLFLOW_KIT_SPOOL_DIR');
  });

  it('bundles @mlflow-kit/tfjs for the browser (callback, autolog, logModel) without reaching a Node built-in', async () => {
    const bundle = await bundleForBrowser(
      { contents: "export * from '@mlflow-kit/tfjs';\n", resolveDir: import.meta.dirname },
      join(tmpdir(), 'mlflow-kit-tfjs-browser-bundle'),
    );
    expect(bundle.nodeImports).toEqual([]);
    const [entry] = bundle.files;
    console.info(
      `@mlflow-kit/tfjs browser entry with core: ${kb(entry!.gzipBytes)} min+gzip (tfjs itself not included)`,
    );
    expect(entry!.text).toContain('cannot look TensorFlow.js up in a web page');
  });

  it('bundles @mlflow-kit/tensorboard for the browser (SummaryWriter, MLflow side only) without reaching a Node built-in', async () => {
    const bundle = await bundleForBrowser(
      { contents: "export * from '@mlflow-kit/tensorboard';\n", resolveDir: import.meta.dirname },
      join(tmpdir(), 'mlflow-kit-tensorboard-browser-bundle'),
    );
    expect(bundle.nodeImports).toEqual([]);
    const [entry, ...lazy] = bundle.files;
    console.info(
      `@mlflow-kit/tensorboard browser entry with core: ${kb(entry!.minBytes)} minified, ${kb(entry!.gzipBytes)} min+gzip; lazy chunks: ${lazy.map((file) => kb(file.gzipBytes)).join(', ')}`,
    );
    // The page's writer, not the Node one: it refuses the event-file tee, and the event-file writer is not in.
    expect(entry!.text).toContain('the event-file tee is Node-only');
    expect(entry!.text).not.toContain('events.out.tfevents');
  });

  it('bundles the Node entry with Node built-ins reached, so that the check above can fail', async () => {
    const bundle = await bundleForBrowser(
      {
        contents: "export { startRun } from './../../packages/core/src/index.ts';\n",
        resolveDir: import.meta.dirname,
      },
      join(tmpdir(), 'mlflow-kit-node-bundle'),
    );
    expect(bundle.nodeImports).toEqual(
      expect.arrayContaining([expect.stringMatching(/^undici <- /), expect.stringMatching(/^node:fs/)]),
    );
  });
});
