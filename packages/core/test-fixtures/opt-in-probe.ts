// Child-process probe for the opt-in test: uses every Run API and reports what it touched.
import { createRequire } from 'node:module';
import net from 'node:net';

const connections: unknown[] = [];
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
  connections.push(args[0]);
  return (connect as (...a: unknown[]) => net.Socket).apply(this, args);
} as typeof connect;

let timersCreated = 0;
for (const name of ['setTimeout', 'setInterval', 'setImmediate'] as const) {
  const original = globalThis[name] as (...a: unknown[]) => unknown;
  (globalThis as Record<string, unknown>)[name] = (...args: unknown[]) => {
    timersCreated++;
    return original(...args);
  };
}

const enabled = process.argv[2] === 'on';
const core = await import('../src/index.js');
const undiciLoaded = () =>
  Object.keys(createRequire(import.meta.url).cache).some((path) => path.includes(`${'/'}undici${'/'}`));
if (process.argv[2] === 'rest') {
  // Positive control: making a REST store is what loads undici.
  await core.getStore(core.resolveSettings({ enabled: true }));
  process.stdout.write(`${JSON.stringify({ undiciLoaded: undiciLoaded() })}\n`);
  process.exit(0);
}
const timersBefore = timersCreated;
const options = { enabled, experimentName: 'opt-in-probe', flushIntervalMs: 50 };
const run = await core.startRun(options);
run.logParam('lr', 0.1);
run.logParams({ a: 1 });
run.logMetric('loss', 0.5, { step: 1 });
run.logMetrics({ acc: 0.9 });
run.setTag('t', 'v');
const timersDuring = timersCreated;
await run.logText('hello', 'notes.txt');
await run.logDict({ a: 1 }, 'd.json');
await run.flush();
await run.end();
await core.withRun(options, async (inner) => inner.logMetric('loss', 1));
core.getActiveRun();
if (enabled) await core.closeStores();
process.stdout.write(
  `${JSON.stringify({
    recording: run.isRecording,
    undiciLoaded: undiciLoaded(),
    contextCreated:
      'core.context' in
      ((globalThis as Record<symbol, { parts?: object }>)[Symbol.for('@mlflow-kit/global/v1')]?.parts ?? {}),
    timersAdded: timersDuring - timersBefore,
    connections: connections.length,
  })}\n`,
);
