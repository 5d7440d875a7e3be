#!/usr/bin/env node
// Builds @tensorflow/tfjs-node's native addon for this workspace, cached under ~/.cache/mlflow-kit/tfjs-node.
//
// pnpm 10 does not run dependency install scripts unless allowed, and tfjs-node's own install script
// downloads libtensorflow (and a prebuilt addon) from storage.googleapis.com, which many machines cannot
// reach. So the workspace lists tfjs-node under `ignoredBuiltDependencies` and this step does the build:
//
//   1. cached: the package already has a working addon, or the cache has one (restored in a second);
//   2. normal: Google's host answers: tfjs-node's own install step, as npm would run it;
//   3. PyPI: PyPI's `tensorflow-cpu` wheel (2.12.1 ships libtensorflow_cc.so.2 with the whole C API) laid out
//      as Google's tarball, served on 127.0.0.1 to tfjs-node's install step (TFJS_NODE_BASE_URI), and the
//      addon built from source against the local Node headers (npm_config_nodedir).
//
// The addon is N-API (v8): one build serves Node 20 and Node 24.
//
// Usage: node scripts/setup-tfjs-node.mjs [--require] [--force]
//   --require (or MLFLOW_KIT_REQUIRE_TFJS_NODE=1, as .ci/run sets it): exit 1 when the addon cannot be built.
//     Without it a failure is reported loudly and the step exits 0: the tests then run on wasm only and
//     every tfjs-node test shows as skipped, with the reason in its name.
//   --force: ignore the cache and the package's addon and build again.
// Environment: MLFLOW_KIT_CACHE (default ~/.cache/mlflow-kit), TFJS_NODE_TF_WHEEL_VERSION (default 2.12.1).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  createReadStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { arch, homedir, platform } from 'node:os';
import { basename, delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const required = args.has('--require') || process.env.MLFLOW_KIT_REQUIRE_TFJS_NODE === '1';
const force = args.has('--force');
const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)}s`;
const say = (text) => process.stderr.write(`[setup-tfjs-node ${elapsed()}] ${text}\n`);

const require = createRequire(join(root, 'packages/tfjs/package.json'));
const packageDir = dirname(require.resolve('@tensorflow/tfjs-node/package.json'));
const packageJson = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
const version = packageJson.version;
const napi = '8';
const addonRelative = join(`lib/napi-v${napi}`, 'tfjs_binding.node');
const cacheRoot = resolve(process.env.MLFLOW_KIT_CACHE ?? join(homedir(), '.cache/mlflow-kit'), 'tfjs-node');
const buildCache = join(cacheRoot, `${version}-${platform()}-${arch()}`);
const statusFile = join(cacheRoot, 'status.json');
const wheelVersion = process.env.TFJS_NODE_TF_WHEEL_VERSION ?? '2.12.1';
const tarballName = 'libtensorflow-cpu-linux-x86_64-2.9.1.tar.gz'; // the name tfjs-node's install.js asks for
const googleUrl = `https://storage.googleapis.com/tensorflow/libtensorflow/${tarballName}`;

/** Loads the addon in a child process (a broken addon must not take this one down); returns TF_Version. */
function probe(node = process.execPath) {
  const result = spawnSync(
    node,
    [
      '-e',
      `const b = require(${JSON.stringify(join(packageDir, addonRelative))}); process.stdout.write(String(b.TF_Version));`,
    ],
    { encoding: 'utf8', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } },
  );
  if (result.status === 0) return { ok: true, tfVersion: result.stdout.trim() };
  const lines = `${result.stderr}`.split('\n').filter((line) => /Error|error:/.test(line));
  return { ok: false, reason: (lines[0] ?? `exit ${result.status}`).trim() };
}

function writeStatus(status) {
  mkdirSync(cacheRoot, { recursive: true });
  writeFileSync(
    statusFile,
    `${JSON.stringify({ ...status, version, date: new Date().toISOString() }, null, 2)}\n`,
  );
}

/** Puts the cached build into the package: `deps` as a symlink (577 MB, shared by every checkout), the addon copied. */
function restoreFromCache() {
  if (!existsSync(join(buildCache, 'ok'))) return false;
  const deps = join(packageDir, 'deps');
  rmSync(deps, { recursive: true, force: true });
  symlinkSync(join(buildCache, 'deps'), deps, 'dir');
  mkdirSync(dirname(join(packageDir, addonRelative)), { recursive: true });
  copyFileSync(join(buildCache, 'tfjs_binding.node'), join(packageDir, addonRelative));
  return true;
}

/** Moves a build made in `staging` into the cache; {@link restoreFromCache} then puts it into the package. */
function saveToCache(staging, how) {
  rmSync(buildCache, { recursive: true, force: true });
  mkdirSync(buildCache, { recursive: true });
  renameSync(join(staging, 'deps'), join(buildCache, 'deps'));
  copyFileSync(join(staging, addonRelative), join(buildCache, 'tfjs_binding.node'));
  writeFileSync(join(buildCache, 'ok'), `${how}\n`);
  rmSync(staging, { recursive: true, force: true });
}

async function reachable(url) {
  try {
    const response = await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(5000) });
    return response.ok;
  } catch {
    return false;
  }
}

function nodeHeaders() {
  for (const dir of [resolve(dirname(process.execPath), '..'), '/usr', '/usr/local']) {
    if (
      existsSync(join(dir, 'include/node/node_api.h')) &&
      existsSync(join(dir, 'include/node/common.gypi'))
    ) {
      return dir;
    }
  }
  return undefined;
}

function nodeGyp() {
  try {
    const npm = execFileSync('npm', ['root', '-g'], { encoding: 'utf8' }).trim();
    const bin = join(npm, 'npm/node_modules/node-gyp/bin/node-gyp.js');
    return existsSync(bin) ? bin : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A copy of the package's sources to build in. Under pnpm the package folder's name can hold a `=`
 * (`...tfjs-node@4.22.0_patch_hash=...`), which breaks the makefiles node-gyp writes; the copy's path has none,
 * and install.js may rewrite its package.json there (in node_modules that file is a hard link into pnpm's store).
 */
function stageSources() {
  const staging = join(cacheRoot, `staging-${version}`);
  rmSync(staging, { recursive: true, force: true });
  for (const name of ['package.json', 'binding.gyp', 'binding', 'scripts']) {
    cpSync(join(packageDir, name), join(staging, name), { recursive: true });
  }
  return staging;
}

/** Runs tfjs-node's own install step (scripts/install.js) in `staging`, as npm would, with extra environment. */
function runInstallScript(staging, extraEnv) {
  const env = { ...process.env, ...extraEnv };
  for (const name of ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy']) {
    if (extraEnv.TFJS_NODE_BASE_URI) delete env[name]; // resources.js would send even 127.0.0.1 through a proxy
  }
  env.PATH = [join(packageDir, 'node_modules/.bin'), dirname(process.execPath), env.PATH].join(delimiter);
  // install.js requires the package's dependencies: pnpm keeps them beside the package, npm above it.
  env.NODE_PATH = [join(packageDir, 'node_modules'), resolve(packageDir, '../..'), env.NODE_PATH]
    .filter(Boolean)
    .join(delimiter);
  const gyp = nodeGyp();
  if (gyp) env.npm_config_node_gyp = gyp;
  return new Promise((done) => {
    const child = spawn(process.execPath, ['scripts/install.js'], { cwd: staging, env, stdio: 'inherit' });
    child.on('exit', (code) => done(code === 0));
    child.on('error', () => done(false));
  });
}

/**
 * The tensorflow-cpu wheel from PyPI, repacked as Google's libtensorflow tarball (kept in the cache). It is a
 * plain tar under the `.tar.gz` name install.js asks for: its unpacker (node-tar) detects the compression, and
 * gzip would cost a minute or more on a small machine for a file that never leaves it.
 */
function pypiTarball() {
  const dir = join(cacheRoot, `libtensorflow-from-pypi-${wheelVersion}`);
  const tarball = join(dir, tarballName);
  if (existsSync(tarball)) {
    say(`libtensorflow tarball from PyPI tensorflow-cpu ${wheelVersion}: cached`);
    return tarball;
  }
  mkdirSync(dir, { recursive: true });
  const wheelDir = join(dir, 'wheel');
  say(`downloading tensorflow-cpu==${wheelVersion} from PyPI (about 230 MB)`);
  execFileSync(
    'python3',
    [
      '-m',
      'pip',
      'download',
      '--quiet',
      '--disable-pip-version-check',
      '--no-deps',
      '--only-binary=:all:',
      '--python-version',
      '3.10',
      ...[
        'manylinux2014_x86_64',
        'manylinux_2_17_x86_64',
        'manylinux_2_27_x86_64',
        'manylinux_2_28_x86_64',
      ].flatMap((tag) => ['--platform', tag]),
      '-d',
      wheelDir,
      `tensorflow-cpu==${wheelVersion}`,
    ],
    { stdio: 'inherit' },
  );
  const wheel = readdirSync(wheelDir).find((name) => name.endsWith('.whl'));
  if (!wheel) throw new Error(`pip left no wheel in ${wheelDir}`);
  say('laying out lib/ and include/ as in Google tarball');
  const stage = join(dir, 'stage');
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(join(stage, 'lib'), { recursive: true });
  execFileSync('python3', ['-c', EXTRACT, join(wheelDir, wheel), stage], { stdio: 'inherit' });
  const lib = join(stage, 'lib');
  for (const name of ['libtensorflow.so', 'libtensorflow.so.2', 'libtensorflow.so.2.9.1']) {
    symlinkSync('libtensorflow_cc.so.2', join(lib, name));
  }
  for (const name of ['libtensorflow_framework.so', 'libtensorflow_framework.so.2.9.1']) {
    symlinkSync('libtensorflow_framework.so.2', join(lib, name));
  }
  execFileSync(
    'sh',
    ['-c', `tar -C "$1" -cf "$2.tmp" lib include && mv "$2.tmp" "$2"`, 'sh', stage, tarball],
    {
      stdio: 'inherit',
    },
  );
  rmSync(stage, { recursive: true, force: true });
  rmSync(wheelDir, { recursive: true, force: true });
  say(`packed ${(statSync(tarball).size / 1e6).toFixed(0)} MB`);
  return tarball;
}

// Copies the two shared libraries and the C API headers out of the wheel (a zip).
const EXTRACT = `
import os, re, shutil, sys, zipfile
whl, out = sys.argv[1], sys.argv[2]
z = zipfile.ZipFile(whl)
names = set(z.namelist())
for so in ("tensorflow/libtensorflow_cc.so.2", "tensorflow/libtensorflow_framework.so.2"):
    if so not in names:
        sys.exit(so + " is not in the wheel: use tensorflow-cpu 2.12.1 or newer")
    dst = os.path.join(out, "lib", os.path.basename(so))
    with z.open(so) as s, open(dst, "wb") as d:
        shutil.copyfileobj(s, d, 1 << 20)
    os.chmod(dst, 0o755)
pre = "tensorflow/include/"
want = re.compile(r"^(tensorflow/c/.*\\.h|(.*/)?tsl/c/.*\\.h|.*/ctstring(_internal)?\\.h)$")
for n in names:
    if n.startswith(pre) and want.match(n[len(pre):]):
        dst = os.path.join(out, "include", n[len(pre):])
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        with z.open(n) as s, open(dst, "wb") as d:
            shutil.copyfileobj(s, d)
`;

/** Serves one file on 127.0.0.1 for as long as the install step runs. */
async function serve(file) {
  const server = createServer((request, response) => {
    if (request.url !== `/${basename(file)}`) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-length': statSync(file).size });
    createReadStream(file).pipe(response);
  });
  await new Promise((listening) => server.listen(0, '127.0.0.1', listening));
  const { port } = server.address();
  return { base: `http://127.0.0.1:${port}/libtensorflow-`, close: () => server.close() };
}

async function buildFresh(staging) {
  const headers = nodeHeaders();
  const fromSource = { npm_config_build_from_source: '@tensorflow/tfjs-node' };
  if (headers) fromSource.npm_config_nodedir = headers;
  if (await reachable(googleUrl)) {
    say('storage.googleapis.com answers: running tfjs-node install step (normal download)');
    if (await runInstallScript(staging, headers ? { npm_config_nodedir: headers } : {}))
      return 'normal download';
    say('the normal install step failed; trying the PyPI route');
  } else {
    say('storage.googleapis.com does not answer: PyPI route');
  }
  if (platform() !== 'linux' || arch() !== 'x64')
    throw new Error(`the PyPI route is for linux x64, not ${platform()} ${arch()}`);
  if (!headers)
    throw new Error('no Node headers (include/node/node_api.h) beside node, in /usr or /usr/local');
  const tarball = pypiTarball();
  const server = await serve(tarball);
  try {
    say(`serving the tarball on ${server.base}; building the addon from source (nodedir ${headers})`);
    if (
      !(await runInstallScript(staging, {
        ...fromSource,
        TFJS_NODE_BASE_URI: server.base,
        TFJS_NODE_CDN_STORAGE: '',
      }))
    )
      throw new Error(
        'tfjs-node install step failed (see its output above: compiler, make and python3 are needed)',
      );
  } finally {
    server.close();
  }
  return `PyPI tensorflow-cpu ${wheelVersion}`;
}

async function main() {
  if (!force) {
    const present = probe();
    if (present.ok) {
      say(`tfjs-node ${version} ready (libtensorflow ${present.tfVersion}), nothing to do`);
      writeStatus({ ok: true, how: 'present', tfVersion: present.tfVersion });
      return;
    }
    if (restoreFromCache()) {
      const restored = probe();
      if (restored.ok) {
        say(`tfjs-node ${version} restored from ${buildCache} (libtensorflow ${restored.tfVersion})`);
        writeStatus({ ok: true, how: 'cache', tfVersion: restored.tfVersion });
        return;
      }
      say(`the cached build does not load (${restored.reason}); building again`);
    }
  }
  const staging = stageSources();
  const how = await buildFresh(staging);
  saveToCache(staging, how);
  restoreFromCache();
  const built = probe();
  if (!built.ok) throw new Error(`the addon was built but does not load: ${built.reason}`);
  say(`tfjs-node ${version} built (${how}, libtensorflow ${built.tfVersion}) and cached in ${buildCache}`);
  writeStatus({ ok: true, how, tfVersion: built.tfVersion });
}

try {
  await main();
} catch (error) {
  const reason = error instanceof Error ? error.message : String(error);
  writeStatus({ ok: false, reason });
  const bar = '!'.repeat(100);
  process.stderr.write(
    `\n${bar}\n!! @tensorflow/tfjs-node could NOT be set up: ${reason}\n` +
      (required
        ? '!! Required here (--require / MLFLOW_KIT_REQUIRE_TFJS_NODE=1): failing.\n'
        : '!! The tfjs tests run on wasm only; every tfjs-node test is reported as SKIPPED with this reason.\n' +
          '!! Fix the cause and run `node scripts/setup-tfjs-node.mjs` again.\n') +
      `${bar}\n\n`,
  );
  process.exitCode = required ? 1 : 0;
}
