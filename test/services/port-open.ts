import { connect } from 'node:net';

/**
 * Rejects unless something accepts TCP connections on the port. Cheap to poll,
 * unlike a MongoClient, whose server selection waits out its heartbeat
 * interval (~500 ms) after a refused connection.
 */
export function assertPortOpen(host: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error(`connecting to ${host}:${port} timed out after ${timeoutMs} ms`));
    });
    socket.once('error', (err) => {
      socket.destroy();
      reject(err);
    });
  });
}
