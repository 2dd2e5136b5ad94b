/**
 * Entry point of a worker child (spawned by worker-handle.ts with the IPC channel): builds one
 * system's worker from the spec in `BENCH_WORKER_SPEC`, then follows the benchmark's commands
 * (see protocol.ts). Never started by hand.
 */
import type { FromWorker, ToWorker, WorkerSpec } from './protocol.js';
import { epochNow } from './protocol.js';
import type { SystemWorker } from './systems/worker-contract.js';
import { WorkerRecorder } from './worker-recorder.js';

const PROGRESS_EVERY_MS = 100;

function send(message: FromWorker): void {
  process.send?.(message);
}

async function build(spec: WorkerSpec, recorder: WorkerRecorder): Promise<SystemWorker> {
  // Imported on demand: a BullMQ worker does not load the MongoDB stack, and the other way round.
  switch (spec.system) {
    case 'taskplane':
      return (await import('./systems/taskplane-worker.js')).createTaskplaneWorker(spec, recorder);
    case 'bullmq':
      return (await import('./systems/bullmq-worker.js')).createBullmqWorker(spec, recorder);
    case 'agenda':
      return (await import('./systems/agenda-worker.js')).createAgendaWorker(spec, recorder);
  }
}

async function main(): Promise<void> {
  if (!process.send) throw new Error('worker-main.ts runs as a child of bench/compare.ts (it needs the IPC channel)');
  const raw = process.env['BENCH_WORKER_SPEC'];
  if (!raw) throw new Error('BENCH_WORKER_SPEC is not set');
  const spec = JSON.parse(raw) as WorkerSpec;
  const recorder = new WorkerRecorder();
  // Loaded only for the MongoDB systems: a BullMQ worker's RSS must not carry the MongoDB driver.
  if (spec.system !== 'bullmq') (await import('./command-monitor.js')).monitorEveryMongoClient((name) => recorder.command(name), (name, message) => recorder.commandFailed(name, message));
  process.on('unhandledRejection', (error) => recorder.error(`unhandled rejection: ${error instanceof Error ? error.message : String(error)}`));
  const worker = await build(spec, recorder);
  send({ type: 'ready', rssBaselineMiB: recorder.baselineMiB });

  let last = '';
  const progress = setInterval(() => {
    const now = JSON.stringify(recorder.progress());
    if (now === last) return;
    last = now;
    send({ type: 'progress', ...recorder.progress() });
  }, PROGRESS_EVERY_MS);

  let stopping = false;
  process.on('message', (message: ToWorker) => {
    void (async () => {
      try {
        if (message.cmd === 'start') {
          await worker.start();
          send({ type: 'started', at: epochNow() });
        } else if (message.cmd === 'report') {
          send({ type: 'report', report: recorder.report() });
        } else if (message.cmd === 'stop' && !stopping) {
          stopping = true;
          clearInterval(progress);
          await worker.stop();
          const report = recorder.report();
          recorder.close();
          send({ type: 'stopped', report });
          // Let the IPC message flush, then leave even if a library left a timer behind.
          process.disconnect();
          setTimeout(() => process.exit(0), 200).unref();
        }
      } catch (error) {
        send({ type: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
      }
    })();
  });
  // The benchmark went away: do not linger.
  process.on('disconnect', () => {
    if (!stopping) process.exit(1);
  });
}

main().catch((error: unknown) => {
  send({ type: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  setTimeout(() => process.exit(1), 200);
});
