#!/usr/bin/env bash
# The packages as users get them. Builds every package, packs each one with `pnpm pack` AND `npm pack`
# (the two tarballs must hold the same files and the same manifest), lints the tarballs with publint and
# @arethetypeswrong/cli, then installs them into a throwaway plain npm project, once per Node given, and
# there checks what a user does: ESM import, CommonJS require, tsc under nodenext / node16 / bundler,
# `npx mlflow-kit --version`, the core/testing contract suite in the user's own vitest, and a run logged to
# the local store (./mlruns) that the official MLflow Python client reads back.
#
# Usage: scripts/consumer-smoke.sh [--results FILE] [--skip-build] [--keep] [NODE_BIN_DIR ...]
#   NODE_BIN_DIR  a directory holding the `node` to run the consumer checks with (default: the node on
#                 PATH). The first Node installs the npm-packed tarballs, the others the pnpm-packed ones.
#   --results     write {"passed":N,"failed":N,"checks":[...]} there, for .ci/run's summary.
#   --keep        keep the temporary work directory (tarballs, consumer projects) for inspection.
# Exits non-zero when any check fails. Downloads (npm cache) are cached under ~/.cache/mlflow-kit.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
cache="${MLFLOW_KIT_CACHE:-$HOME/.cache/mlflow-kit}"
python="${MLFLOW_KIT_VENV:-$cache/venv-$(cat .mlflow-version)}/bin/python"
results="" build=1 keep=0 node_dirs=()
while [ $# -gt 0 ]; do
  case $1 in
    --results) results=$2; shift 2 ;;
    --skip-build) build=0; shift ;;
    --keep) keep=1; shift ;;
    *) node_dirs+=("${1:-$(dirname "$(command -v node)")}"); shift ;;
  esac
done
[ ${#node_dirs[@]} -gt 0 ] || node_dirs=("$(dirname "$(command -v node)")")

# The versions the consumer project installs next to the tarballs: the ones the workspace is tested with.
TYPESCRIPT_VERSION=$(node -p "require('./node_modules/typescript/package.json').version")
VITEST_VERSION=$(node -p "require('./node_modules/vitest/package.json').version")
ZOD_VERSION=$(node -p "require('./packages/config/node_modules/zod/package.json').version")
PACKAGES=(core tfjs config cli tensorboard)

work=$(mktemp -d "${TMPDIR:-/tmp}/mlflow-kit-smoke.XXXXXX")
if [ $keep -eq 1 ]; then echo "work directory (kept): $work"; else trap 'rm -rf "$work"' EXIT; fi
records="$work/checks.jsonl"
: >"$records"
failed=0

# check NAME COMMAND...: runs COMMAND with its output in a log, prints PASS/FAIL (and the log on failure).
check() {
  local name=$1; shift
  local log="$work/log.txt" started=$SECONDS ok=true
  if "$@" >"$log" 2>&1; then
    printf '  PASS  %s (%ss)\n' "$name" $((SECONDS - started))
  else
    ok=false failed=$((failed + 1))
    printf '  FAIL  %s (%ss)\n' "$name" $((SECONDS - started))
    sed 's/^/        /' "$log" | tail -40
  fi
  printf '{"name":%s,"ok":%s,"seconds":%s}\n' "$(node -p 'JSON.stringify(process.argv[1])' "$name")" \
    "$ok" $((SECONDS - started)) >>"$records"
}

finish() {
  if [ -n "$results" ]; then
    node -e '
      const fs = require("fs");
      const checks = fs.readFileSync(process.argv[1], "utf8").trim().split("\n").filter(Boolean).map(JSON.parse);
      const passed = checks.filter((c) => c.ok).length;
      fs.writeFileSync(process.argv[2], JSON.stringify({ passed, failed: checks.length - passed, checks }, null, 2));
    ' "$records" "$results"
  fi
  echo "consumer smoke: $(grep -c '"ok":true' "$records") passed, $(grep -c '"ok":false' "$records") failed"
  exit $((failed > 0 ? 1 : 0))
}

if [ $build -eq 1 ]; then
  echo "building every package"
  check "pnpm build" pnpm build
fi

echo "packing with pnpm pack and npm pack"
mkdir -p "$work/pnpm" "$work/npm"
for p in "${PACKAGES[@]}"; do
  check "pnpm pack $p" bash -c "cd packages/$p && pnpm pack --pack-destination '$work/pnpm' >/dev/null"
  check "npm pack $p" bash -c "cd packages/$p && npm pack --silent --pack-destination '$work/npm' >/dev/null"
done
tarball() { ls "$work/$1/mlflow-kit-$2-"*.tgz 2>/dev/null; } # packer, package

same_tarballs() { # package: npm and pnpm ship the same files and an equal manifest
  local a="$work/x-npm-$1" b="$work/x-pnpm-$1"
  mkdir -p "$a" "$b" && tar xzf "$(tarball npm "$1")" -C "$a" && tar xzf "$(tarball pnpm "$1")" -C "$b" || return 1
  diff -r -x package.json "$a" "$b" || return 1
  node -e '
    const [a, b] = process.argv.slice(1).map((f) => require(f));
    const sort = (v) => Array.isArray(v) ? v.map(sort) : v && typeof v === "object"
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort(v[k])])) : v;
    if (JSON.stringify(sort(a)) !== JSON.stringify(sort(b))) {
      console.error("npm pack and pnpm pack wrote different manifests:\n", JSON.stringify(a, null, 2), "\n", JSON.stringify(b, null, 2));
      process.exit(1);
    }
  ' "$a/package/package.json" "$b/package/package.json"
}

manifest_sound() { # package: a LICENSE identical to the root one; internal deps as ^<their version>
  cmp "$work/x-pnpm-$1/package/LICENSE" "$root/LICENSE" || return 1
  node -e '
    const fs = require("fs");
    const manifest = require(process.argv[1]);
    const bad = [];
    for (const field of ["dependencies", "peerDependencies", "optionalDependencies"]) {
      for (const [name, range] of Object.entries(manifest[field] ?? {})) {
        if (!name.startsWith("@mlflow-kit/")) continue;
        const version = require(`${process.argv[2]}/packages/${name.split("/")[1]}/package.json`).version;
        if (range !== `^${version}`) bad.push(`${field}.${name} is ${JSON.stringify(range)}; the workspace has ${version}: use "^${version}"`);
      }
    }
    if (bad.length) { console.error(bad.join("\n")); process.exit(1); }
  ' "$work/x-pnpm-$1/package/package.json" "$root"
}

echo "linting the tarballs"
for p in "${PACKAGES[@]}"; do
  check "npm and pnpm tarballs of $p are the same" same_tarballs "$p"
  check "LICENSE and internal ranges of $p" manifest_sound "$p"
  for packer in npm pnpm; do
    check "publint --strict $p ($packer pack)" pnpm exec publint run --strict "$(tarball "$packer" "$p")"
  done
  # ESM-only by design (DESIGN: Node >= 20.19, CommonJS callers use require(esm)); attw's TypeScript
  # (5.6) predates TypeScript's require(esm) support, so it reports CJS-resolves-to-ESM for node16 CJS
  # callers. The consumer checks below type-check real CJS callers with the workspace's TypeScript.
  check "attw $p" pnpm exec attw --ignore-rules cjs-resolves-to-esm --format ascii "$(tarball pnpm "$p")"
done

# --- the consumer project -------------------------------------------------------------------------------

write_consumer() { # dir
  local dir=$1
  mkdir -p "$dir"
  cat >"$dir/package.json" <<'JSON'
{ "name": "mlflow-kit-consumer", "version": "1.0.0", "private": true }
JSON
  cat >"$dir/esm.mjs" <<'JS'
import assert from 'node:assert/strict';
import { createClient, MlflowApiError, startRun, withRun } from '@mlflow-kit/core';
import { autolog, loadModel, logModel, mlflowCallback } from '@mlflow-kit/tfjs';
import { flattenParams, logConfig } from '@mlflow-kit/config';
import { runDoctor, syncLocalRuns } from '@mlflow-kit/cli';
import { SummaryWriter, summaryFileWriter, tensorBoard } from '@mlflow-kit/tensorboard';
for (const fn of [createClient, startRun, withRun, autolog, loadModel, logModel, mlflowCallback, logConfig, runDoctor, syncLocalRuns, SummaryWriter, summaryFileWriter, tensorBoard])
  assert.equal(typeof fn, 'function');
assert.equal(typeof MlflowApiError.isInstance, 'function');
assert.deepEqual(flattenParams({ a: { b: 1 } }), { 'a.b': '1' });
const run = await startRun(); // tracking off: the no-op run
assert.equal(run.isRecording, false);
console.log('esm ok');
JS
  cat >"$dir/cjs.cjs" <<'JS'
const assert = require('node:assert/strict');
const core = require('@mlflow-kit/core');
const tfjs = require('@mlflow-kit/tfjs');
const config = require('@mlflow-kit/config');
const cli = require('@mlflow-kit/cli');
const tensorboard = require('@mlflow-kit/tensorboard');
assert.equal(typeof core.startRun, 'function');
assert.equal(typeof tensorboard.SummaryWriter, 'function');
assert.equal(typeof tfjs.mlflowCallback, 'function');
assert.deepEqual(config.flattenParams({ a: [1, 2] }), { a: '[1,2]' });
assert.equal(typeof cli.syncLocalRuns, 'function');
core.withRun({}, async (run) => assert.equal(run.isRecording, false)).then(() => console.log('cjs ok'));
JS
  # Types: the same ESM caller under every resolution mode; misuse must be an error (so types are real).
  cat >"$dir/types-esm.mts" <<'TS'
import { createClient, type Run, startRun } from '@mlflow-kit/core';
import { createMemoryStore, describeStoreContract } from '@mlflow-kit/core/testing';
import { mlflowCallback } from '@mlflow-kit/tfjs';
import { logConfig, secret } from '@mlflow-kit/config';
import { type SyncSummary, syncLocalRuns } from '@mlflow-kit/cli';
import { SummaryWriter } from '@mlflow-kit/tensorboard';
import { z } from 'zod';

const run: Run = await startRun({ experimentName: 'types', runName: 'esm' });
run.logMetric('loss', 0.5, { step: 1 });
// @ts-expect-error a metric value is a number
run.logMetric('loss', 'high');
const config: { lr: number; password: string } = await logConfig(
  z.object({ lr: z.number(), password: secret(z.string()) }),
  { lr: 0.1, password: 'p' },
);
void config;
const writer = new SummaryWriter({ logDir: 'logs/types' });
writer.addScalar('loss', 0.5, 1);
// @ts-expect-error a scalar's tag is a string
writer.addScalar(1, 0.5, 1);
void mlflowCallback({});
void createClient({});
const summary: Promise<SyncSummary> = syncLocalRuns({ from: './mlruns', to: 'http://localhost:5000' });
void summary;
describeStoreContract('memory', async () => ({ store: createMemoryStore() }));
TS
  cat >"$dir/types-cjs.cts" <<'TS'
// A CommonJS caller: `require` of the ESM packages (TypeScript allows it under nodenext, as Node >= 20.19 does).
import core = require('@mlflow-kit/core');
import config = require('@mlflow-kit/config');

export async function main(): Promise<void> {
  const run: core.Run = await core.startRun();
  run.setTag('k', 'v');
  // @ts-expect-error invalidKeys is 'error' or 'sanitize'
  config.flattenParams({}, { invalidKeys: 'drop' });
}
TS
  cat >"$dir/types-cjs-dynamic.cts" <<'TS'
// A CommonJS caller under node16, where TypeScript allows ESM packages only through import().
export async function main(): Promise<void> {
  const core = await import('@mlflow-kit/core');
  const run = await core.startRun();
  run.logParam('lr', 0.1);
  // @ts-expect-error logParams takes an object
  run.logParams(1);
}
TS
  # nodenext also checks the shipped .d.ts files themselves (skipLibCheck off); the other modes only
  # resolve and use them, which keeps the step fast (checking every library's types takes the most time).
  local common='"strict": true, "noEmit": true, "target": "ES2022", "lib": ["ES2023"], "types": ["node"]'
  cat >"$dir/tsconfig.nodenext.json" <<JSON
{ "compilerOptions": { $common, "skipLibCheck": false, "module": "nodenext", "moduleResolution": "nodenext" },
  "files": ["types-esm.mts", "types-cjs.cts", "types-cjs-dynamic.cts"] }
JSON
  cat >"$dir/tsconfig.node16.json" <<JSON
{ "compilerOptions": { $common, "skipLibCheck": true, "module": "node16", "moduleResolution": "node16" },
  "files": ["types-esm.mts", "types-cjs-dynamic.cts"] }
JSON
  cat >"$dir/tsconfig.bundler.json" <<JSON
{ "compilerOptions": { $common, "skipLibCheck": true, "module": "esnext", "moduleResolution": "bundler" },
  "files": ["types-esm.mts"] }
JSON
  cat >"$dir/contract.test.mjs" <<'JS'
import { createMemoryStore, describeStoreContract } from '@mlflow-kit/core/testing';

describeStoreContract('MemoryStore from the tarball', async () => ({ store: createMemoryStore() }));
JS
  cat >"$dir/log-run.mjs" <<'JS'
// Tracking switched on by the environment (MLFLOW_KIT_ENABLED=1), no tracking URI: the local ./mlruns.
import { withRun } from '@mlflow-kit/core';
import { logConfig, secret } from '@mlflow-kit/config';
import { z } from 'zod';

let runId;
await withRun({ experimentName: 'consumer-smoke', runName: 'from-the-tarball' }, async (run) => {
  runId = run.runId;
  await logConfig(z.object({ lr: z.number(), password: secret(z.string()) }), { lr: 0.01, password: 'hunter2' });
  for (let step = 0; step < 3; step++) run.logMetric('loss', 1 / (step + 1), { step });
  run.setTag('smoke', 'yes');
  await run.logDict({ classes: ['a', 'b'] }, 'labels.json');
});
console.log(runId);
JS
  cat >"$dir/read-run.py" <<'PY'
import os, sys
from mlflow import MlflowClient

client = MlflowClient(tracking_uri="file://" + os.path.abspath("mlruns"))
run = client.get_run(sys.argv[1])
assert run.info.status == "FINISHED", run.info.status
assert run.info.run_name == "from-the-tarball", run.info.run_name
assert client.get_experiment(run.info.experiment_id).name == "consumer-smoke"
assert run.data.params == {"lr": "0.01", "password": "***"}, run.data.params
assert run.data.tags["smoke"] == "yes"
history = client.get_metric_history(run.info.run_id, "loss")
assert [(m.step, round(m.value, 4)) for m in history] == [(0, 1.0), (1, 0.5), (2, 0.3333)], history
paths = {a.path for a in client.list_artifacts(run.info.run_id)}
assert "labels.json" in paths, paths
print("read back", run.info.run_id)
PY
}

consumer_checks() { # node bin dir, packer
  local bin=$1 packer=$2
  local label="node $("$bin/node" -p 'process.versions.node.split(".")[0]'), $packer-packed"
  local dir="$work/consumer-$packer"
  echo "consumer project on Node $("$bin/node" --version) with the $packer-packed tarballs"
  write_consumer "$dir"
  local tarballs=()
  for p in "${PACKAGES[@]}"; do tarballs+=("$(tarball "$packer" "$p")"); done
  # Only the npm cache persists (under ~/.cache/mlflow-kit); the project itself is fresh each time.
  in_consumer() { (cd "$dir" && env -u MLFLOW_TRACKING_URI -u MLFLOW_EXPERIMENT_NAME -u MLFLOW_EXPERIMENT_ID \
    -u MLFLOW_RUN_ID -u MLFLOW_KIT_ENABLED PATH="$bin:$PATH" npm_config_cache="$cache/npm-cache" "$@"); }
  check "npm install of the tarballs ($label)" in_consumer npm install --no-audit --no-fund --prefer-offline \
    "${tarballs[@]}" "typescript@$TYPESCRIPT_VERSION" "vitest@$VITEST_VERSION" "zod@$ZOD_VERSION" "@types/node@20"
  check "ESM import ($label)" in_consumer node esm.mjs
  check "CommonJS require ($label)" in_consumer node cjs.cjs
  for mode in nodenext node16 bundler; do
    check "tsc --noEmit, moduleResolution $mode ($label)" in_consumer node_modules/.bin/tsc -p "tsconfig.$mode.json"
  done
  local expected
  expected=$(node -p "require('$root/packages/cli/package.json').version")
  check "npx mlflow-kit --version prints $expected ($label)" \
    bash -c "out=\$(cd '$dir' && PATH='$bin:$PATH' npx --no-install mlflow-kit --version) && echo \"\$out\" && [ \"\$out\" = '$expected' ]"
  check "core/testing contract suite in the user's vitest ($label)" in_consumer node_modules/.bin/vitest run --root . contract.test.mjs
  local run_id="$work/run-id-$packer"
  log_run() { in_consumer env MLFLOW_KIT_ENABLED=1 node log-run.mjs >"$run_id" && cat "$run_id" && [ -s "$run_id" ]; }
  check "run logged to ./mlruns ($label)" log_run
  check "official MLflow Python client reads the run back ($label)" \
    bash -c "cd '$dir' && MLFLOW_ALLOW_FILE_STORE=true MLFLOW_DISABLE_TELEMETRY=true '$python' read-run.py \"\$(tail -1 '$run_id')\""
  check "npx mlflow-kit runs list finds the run ($label)" \
    bash -c "cd '$dir' && PATH='$bin:$PATH' npx --no-install mlflow-kit runs list --json | grep -q \"\$(tail -1 '$run_id')\""
}

packer=npm
for bin in "${node_dirs[@]}"; do
  consumer_checks "$bin" "$packer"
  packer=pnpm
done
finish
