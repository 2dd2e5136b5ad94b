// `npm run services`: local servers for running tests or the app by hand
// against the same kind of setup the test run starts.
import { errorMessage } from './errors.js';
import { DEFAULT_MONGO_SHARDS, startLocalServices } from './local-services.js';

const starting = startLocalServices({ mongoShards: DEFAULT_MONGO_SHARDS, redis: true });
let stopping: Promise<void> | undefined;

function shutdown(signal: NodeJS.Signals): void {
  stopping ??= (async () => {
    process.stderr.write(`[taskplane] ${signal}: stopping services ...\n`);
    // A signal during startup still waits for the servers, so none is left behind.
    const services = await starting.catch(() => undefined);
    await services?.stop();
    process.exit(0);
  })();
}

process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);

starting.then(
  (services) => {
    if (stopping) return;
    process.stderr.write(`[taskplane] started ${services.description}\n`);
    process.stdout.write(`TASKPLANE_TEST_MONGO_URLS=${services.mongoUrls.join(',')}\n`);
    process.stdout.write(`TASKPLANE_TEST_REDIS_URL=${services.redisUrl ?? ''}\n`);
    process.stderr.write('[taskplane] running until SIGINT/SIGTERM (Ctrl-C)\n');
    // Keeps the event loop alive; the signal handlers end the process.
    setInterval(() => {}, 1 << 30);
  },
  (err: unknown) => {
    process.stderr.write(`[taskplane] could not start services: ${errorMessage(err)}\n`);
    process.exit(1);
  },
);
