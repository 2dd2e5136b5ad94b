// Entry point for tests that need to start, crash and restart servers themselves.
export { freePort } from './free-port.js';
export { startFerretDb } from './ferretdb-process.js';
export type { FerretDbOptions, FerretDbProcess } from './ferretdb-process.js';
export { startRedis } from './redis-process.js';
export type { RedisOptions, RedisProcess } from './redis-process.js';
