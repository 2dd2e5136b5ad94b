import { ServiceStartError } from './errors.js';
import { freePort } from './free-port.js';

// freePort() cannot reserve the port, so a parallel starter may win the race.
const PORT_ATTEMPTS = 3;

/**
 * Calls `start` with the requested port, or with fresh free ports until one
 * is not stolen between freePort() and the server's bind.
 */
export async function startWithPort<T>(requested: number | undefined, start: (port: number) => Promise<T>): Promise<T> {
  if (requested !== undefined) return start(requested);
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(await freePort());
    } catch (err) {
      const portTaken = err instanceof ServiceStartError && /address already in use/i.test(err.message);
      if (!portTaken || attempt >= PORT_ATTEMPTS) throw err;
    }
  }
}
