import { readFile, statfs } from 'node:fs/promises';
import { cpus, freemem, totalmem } from 'node:os';
import { parse } from 'node:path';
import { diag } from '../diag.js';
import type { SystemMetricsSettings } from './system-metrics-settings.js';

// MLflow's system metrics (`mlflow/system_metrics/metrics/{cpu,disk,network}_monitor.py`), read without
// psutil: /proc on Linux, the `os` module elsewhere. Keys, units (MB = 1e6 bytes) and aggregation as there:
// the mean of the samples rounded to one decimal, network totals since the monitor started as they are.

/** What the monitor logs to: the run's own `logMetrics`, so points take the queue, retries and spool. */
export interface SystemMetricsSink {
  logMetrics(metrics: Record<string, number>, options: { step: number; timestamp: number }): void;
}

interface CpuTimes {
  busy: number;
  total: number;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Busy and total CPU time: /proc/stat's `cpu` line as psutil reads it (busy = total - idle - iowait). */
async function cpuTimes(): Promise<CpuTimes> {
  const stat = await readText('/proc/stat');
  const line = stat?.split('\n', 1)[0];
  if (line?.startsWith('cpu ')) {
    // user nice system idle iowait irq softirq steal guest guest_nice; guest time is already in user/nice.
    const fields = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = fields.reduce((sum, value) => sum + value, 0);
    return { busy: total - (fields[3] ?? 0) - (fields[4] ?? 0), total };
  }
  let busy = 0;
  let total = 0;
  for (const { times } of cpus()) {
    const all = times.user + times.nice + times.sys + times.idle + times.irq;
    total += all;
    busy += all - times.idle;
  }
  return { busy, total };
}

/** Used and total memory in bytes, as psutil's `virtual_memory()` (used = total - free - buffers - cached). */
async function memory(): Promise<{ used: number; total: number }> {
  const text = await readText('/proc/meminfo');
  if (text) {
    const kb = (name: string): number => {
      const match = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text);
      return match ? Number(match[1]) * 1024 : 0;
    };
    const total = kb('MemTotal');
    const free = kb('MemFree');
    let used = total - free - kb('Buffers') - kb('Cached') - kb('SReclaimable');
    if (used < 0) used = total - free;
    if (total > 0) return { used, total };
  }
  return { used: totalmem() - freemem(), total: totalmem() };
}

/** Bytes received and sent over every interface since boot (/proc/net/dev), or `undefined` off Linux. */
async function network(): Promise<{ received: number; sent: number } | undefined> {
  const text = await readText('/proc/net/dev');
  if (!text) return undefined;
  let received = 0;
  let sent = 0;
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const fields = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    received += fields[0] ?? 0;
    sent += fields[8] ?? 0;
  }
  return { received, sent };
}

const round1 = (value: number): number => Math.round(value * 10) / 10;

/**
 * Samples CPU, memory, disk and network every `intervalMs` on an unref'd timer and logs the averages of
 * every `samplesBeforeLogging` samples as `system/...` metrics, at steps 0, 1, 2, ... (from `firstStep`).
 */
export class SystemMetricsMonitor {
  private timer: ReturnType<typeof setInterval> | undefined;
  private samples = new Map<string, number[]>();
  private sampleCount = 0;
  private step: number;
  private lastCpu: CpuTimes | undefined;
  private firstNetwork: { received: number; sent: number } | undefined;
  private lastNetwork: Record<string, number> = {};
  private sampling = false;
  private readonly diskPath = parse(process.cwd()).root || '/';
  private readonly prefix: string;

  constructor(
    private readonly sink: SystemMetricsSink,
    private readonly settings: SystemMetricsSettings,
    firstStep = 0,
  ) {
    this.step = firstStep;
    this.prefix = `system/${settings.nodeId ? `${settings.nodeId}/` : ''}`;
  }

  /** Takes the baselines (CPU times, network counters) and starts the timer. */
  async start(): Promise<void> {
    [this.lastCpu, this.firstNetwork] = await Promise.all([cpuTimes(), network()]);
    this.timer = setInterval(() => void this.tick(), this.settings.intervalMs);
    this.timer.unref?.();
  }

  /** Stops sampling; samples not yet averaged into a point are dropped, as MLflow's monitor does. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Whether the timer runs. */
  get running(): boolean {
    return this.timer !== undefined;
  }

  private async tick(): Promise<void> {
    if (this.sampling) return;
    this.sampling = true;
    try {
      await this.sample();
      if (this.timer && ++this.sampleCount >= this.settings.samplesBeforeLogging) this.publish();
    } catch (error) {
      diag.once(
        'system-metrics:sample',
        'warn',
        `System metrics could not be sampled: ${error instanceof Error ? error.message : String(error)}`,
      );
    } finally {
      this.sampling = false;
    }
  }

  private add(key: string, value: number): void {
    let list = this.samples.get(key);
    if (!list) {
      list = [];
      this.samples.set(key, list);
    }
    list.push(value);
  }

  private async sample(): Promise<void> {
    const [cpu, mem, disk, net] = await Promise.all([
      cpuTimes(),
      memory(),
      statfs(this.diskPath).catch(() => undefined),
      network(),
    ]);
    const previous = this.lastCpu;
    this.lastCpu = cpu;
    if (previous) {
      const total = cpu.total - previous.total;
      this.add(
        'cpu_utilization_percentage',
        total > 0 ? round1(((cpu.busy - previous.busy) / total) * 100) : 0,
      );
    }
    this.add('system_memory_usage_megabytes', mem.used / 1e6);
    this.add('system_memory_usage_percentage', (mem.used / mem.total) * 100);
    if (disk) {
      const used = (disk.blocks - disk.bfree) * disk.bsize;
      const available = disk.bavail * disk.bsize;
      this.add('disk_usage_percentage', used + available > 0 ? round1((used / (used + available)) * 100) : 0);
      this.add('disk_usage_megabytes', used / 1e6);
      this.add('disk_available_megabytes', available / 1e6);
    }
    if (net && this.firstNetwork) {
      this.lastNetwork = {
        network_receive_megabytes: (net.received - this.firstNetwork.received) / 1e6,
        network_transmit_megabytes: (net.sent - this.firstNetwork.sent) / 1e6,
      };
    }
  }

  private publish(): void {
    const metrics: Record<string, number> = {};
    for (const [key, values] of this.samples)
      metrics[this.prefix + key] = round1(values.reduce((sum, value) => sum + value, 0) / values.length);
    for (const [key, value] of Object.entries(this.lastNetwork)) metrics[this.prefix + key] = value;
    this.samples.clear();
    this.sampleCount = 0;
    try {
      this.sink.logMetrics(metrics, { step: this.step, timestamp: Date.now() });
      this.step++;
    } catch (error) {
      // The run ended between two samples.
      this.stop();
      diag.debug(`System metrics stopped: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
