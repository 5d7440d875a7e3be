import { builtinModules } from 'node:module';
import { relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type Plugin } from 'esbuild';

const repoRoot = new URL('../..', import.meta.url).pathname;

/** What {@link bundleForBrowser} built. */
export interface BrowserBundle {
  /** Every Node built-in or undici import the bundle reached, as `specifier <- importer`. */
  nodeImports: string[];
  /** The output files: the entry first, then the chunks it loads lazily. */
  files: { path: string; text: string; minBytes: number; gzipBytes: number }[];
}

function isNodeOnly(specifier: string): boolean {
  if (specifier.startsWith('node:')) return true;
  if (specifier === 'undici' || specifier.startsWith('undici/')) return true;
  return builtinModules.includes(specifier.split('/')[0]!);
}

// Records, instead of failing at the first one, every Node-only import that mlflow-kit's own packages reach in
// the browser build, so that a failing test names them all with the file that imports each. Imports of other
// packages (tfjs maps its Node-only imports away with its `browser` field) are left to esbuild.
function nodeImportRecorder(found: string[]): Plugin {
  return {
    name: 'node-import-recorder',
    setup(builder) {
      builder.onResolve({ filter: /.*/ }, (args) => {
        if (!isNodeOnly(args.path) || !args.importer.startsWith(`${repoRoot}packages/`)) return undefined;
        found.push(`${args.path} <- ${relative(repoRoot, args.importer)}`);
        return { path: args.path, external: true };
      });
    },
  };
}

/**
 * Bundles `entry` (a file, or source text resolved from `resolveDir`) as a bundler does for a web page:
 * platform `browser`, the `browser` export condition (after the workspace's `@mlflow-kit/source`, so that the
 * sources are bundled), minified, code split (lazily imported modules in their own chunks).
 */
export async function bundleForBrowser(
  entry: string | { contents: string; resolveDir: string },
  outdir: string,
  write = false,
): Promise<BrowserBundle> {
  const nodeImports: string[] = [];
  const result = await build({
    ...(typeof entry === 'string'
      ? { entryPoints: { entry } }
      : {
          stdin: {
            contents: entry.contents,
            resolveDir: entry.resolveDir,
            sourcefile: 'entry.ts',
            loader: 'ts',
          },
        }),
    entryNames: 'entry',
    bundle: true,
    write,
    outdir,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    conditions: ['@mlflow-kit/source', 'browser'],
    logLevel: 'silent',
    plugins: [nodeImportRecorder(nodeImports)],
  });
  const files = (result.outputFiles ?? [])
    .map((file) => ({
      path: file.path,
      text: file.text,
      minBytes: file.contents.byteLength,
      gzipBytes: gzipSync(file.contents).byteLength,
    }))
    .sort((a, b) => Number(b.path.endsWith('/entry.js')) - Number(a.path.endsWith('/entry.js')));
  return { nodeImports, files };
}
