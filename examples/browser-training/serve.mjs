// Bundles the page (src/page.ts, with TensorFlow.js and the browser entries of @mlflow-kit/core and
// @mlflow-kit/tfjs) with esbuild, as a bundler for the web does, and serves it on 127.0.0.1 with node:http.
// `pnpm example:browser` at the repository root runs it. PORT picks the port (default 8080; 0 for any free one).
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { build } from 'esbuild';

const here = (path) => new URL(path, import.meta.url);
const port = Number(process.env.PORT ?? 8080);

const started = Date.now();
const bundle = await build({
  entryPoints: [here('src/page.ts').pathname],
  bundle: true,
  write: false,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  // `browser` picks the packages' browser entries; `@mlflow-kit/source` their TypeScript sources in this
  // repository, so that nothing needs building first.
  conditions: ['@mlflow-kit/source', 'browser'],
  logLevel: 'warning',
});
const pageJs = bundle.outputFiles[0].contents;

// The iris data set of the tfjs-autolog example (150 rows), served as the page's built-in data.
const files = {
  '/': { path: here('index.html'), type: 'text/html; charset=utf-8' },
  '/iris.csv': { path: here('../tfjs-autolog/data/iris.csv'), type: 'text/csv; charset=utf-8' },
};

const server = createServer((request, response) => {
  const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
  if (path === '/page.js') {
    response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(pageJs);
    return;
  }
  const file = files[path];
  if (!file) {
    response.writeHead(404).end('not found');
    return;
  }
  readFile(file.path).then(
    (bytes) => response.writeHead(200, { 'content-type': file.type }).end(bytes),
    (error) => response.writeHead(500).end(String(error)),
  );
});
server.listen(port, '127.0.0.1', () => {
  const url = `http://127.0.0.1:${server.address().port}/`;
  console.log(`Page bundled in ${Date.now() - started} ms (${Math.round(pageJs.byteLength / 1024)} KB).`);
  console.log(`Open ${url} (it logs to http://127.0.0.1:5000; ${url}?trackingUri=... for another server)`);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
