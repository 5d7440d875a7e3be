import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { python } from './python.js';

/** A maker of temporary log directories that are removed after the test file. */
export function tempDirs(prefix: string): () => string {
  const made: string[] = [];
  afterAll(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    made.push(dir);
    return dir;
  };
}

/** One log directory as TensorBoard's own `EventAccumulator` reads it. */
export interface EventDir {
  scalars: Record<string, { step: number; value: number | null; wallTime: number }[]>;
  /** Tensor summaries (tfjs-node histograms, text) as nested lists (strings decoded), with their plugin. */
  tensors: Record<string, { step: number; value: unknown; plugin: string; description: string }[]>;
  histograms: Record<
    string,
    {
      step: number;
      min: number;
      max: number;
      num: number;
      sum: number;
      sumSquares: number;
      limits: number[];
      counts: number[];
    }[]
  >;
  images: Record<string, { step: number; width: number; height: number; png: boolean }[]>;
  /** The hparams plugin's summaries, as protobuf JSON. */
  hparams: Record<string, unknown>;
}

/** Reads every log directory under `root` (relative name → contents) with the Python `tensorboard` package. */
export function readEventDirs(root: string): Promise<Record<string, EventDir>> {
  return python<Record<string, EventDir>>(`
import json, math, os
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2
from tensorboard.util import tensor_util
from google.protobuf import json_format
def num(x):
    return None if math.isnan(x) else x
def plain(v):
    if isinstance(v, bytes): return v.decode()
    if isinstance(v, list): return [plain(x) for x in v]
    if isinstance(v, float) and not math.isfinite(v): return None  # JSON has no NaN/Infinity
    return v
out = {}
for d, _, files in os.walk(${JSON.stringify(root)}):
    if not any(f.startswith("events.out.tfevents.") for f in files): continue
    a = EventAccumulator(d, size_guidance={"scalars": 0, "tensors": 0, "histograms": 0, "images": 0})
    a.Reload()
    t = a.Tags()
    hp = {}
    for tag, c in a._plugin_to_tag_to_content.get("hparams", {}).items():
        p = plugin_data_pb2.HParamsPluginData(); p.ParseFromString(c)
        hp[tag] = json_format.MessageToDict(p)
    out[os.path.relpath(d, ${JSON.stringify(root)})] = {
        "scalars": {k: [{"step": e.step, "value": num(e.value), "wallTime": e.wall_time} for e in a.Scalars(k)] for k in t["scalars"]},
        "tensors": {k: [{"step": e.step, "value": plain(tensor_util.make_ndarray(e.tensor_proto).tolist()),
                         "plugin": a.SummaryMetadata(k).plugin_data.plugin_name,
                         "description": a.SummaryMetadata(k).summary_description} for e in a.Tensors(k)] for k in t["tensors"]},
        "histograms": {k: [{"step": e.step, "min": e.histogram_value.min, "max": e.histogram_value.max,
                            "num": e.histogram_value.num, "sum": e.histogram_value.sum, "sumSquares": e.histogram_value.sum_squares,
                            "limits": list(e.histogram_value.bucket_limit), "counts": list(e.histogram_value.bucket)} for e in a.Histograms(k)] for k in t["histograms"]},
        "images": {k: [{"step": e.step, "width": e.width, "height": e.height, "png": e.encoded_image_string[:8] == b"\\x89PNG\\r\\n\\x1a\\n"} for e in a.Images(k)] for k in t["images"]},
        "hparams": hp,
    }
print(json.dumps(out))
`);
}

/** A run as the official client sees it: status, params, metric points with timestamps, artifact files and their text. */
export interface ClientRun {
  status: string;
  params: Record<string, string>;
  metrics: Record<string, { step: number; value: number | null; timestamp: number }[]>;
  artifacts: string[];
  /** Contents of the `.json`, `.txt` and `.svg` artifacts. */
  texts: Record<string, string>;
  /** Size and signature check of `.png` artifacts. */
  pngs: Record<string, boolean>;
}

/** Reads a run with the official Python client, downloading its artifacts. */
export function readClientRun(runId: string): Promise<ClientRun> {
  return python<ClientRun>(`
import json, math, os, tempfile
from mlflow.tracking import MlflowClient
c = MlflowClient()
r = c.get_run("${runId}")
files = []
def walk(path):
    for f in c.list_artifacts("${runId}", path):
        walk(f.path) if f.is_dir else files.append(f.path)
walk(None)
local = c.download_artifacts("${runId}", "", tempfile.mkdtemp()) if files else ""
texts, pngs = {}, {}
for f in files:
    data = open(os.path.join(local, f), "rb").read()
    if f.endswith((".json", ".txt", ".svg")): texts[f] = data.decode()
    if f.endswith(".png"): pngs[f] = data[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
metrics = {k: [{"step": m.step, "value": None if math.isnan(m.value) else m.value, "timestamp": m.timestamp}
               for m in sorted(c.get_metric_history("${runId}", k), key=lambda m: (m.step, m.timestamp))] for k in r.data.metrics}
print(json.dumps({"status": r.info.status, "params": r.data.params, "metrics": metrics, "artifacts": sorted(files), "texts": texts, "pngs": pngs}))
`);
}
