import { createServer } from 'node:net';

/**
 * A port that was free a moment ago on 127.0.0.1. Another process can still
 * take it before the caller binds, so starters retry on "address in use".
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : undefined;
      server.close((err) => {
        if (err) reject(err);
        else if (port === undefined) reject(new Error('listening socket reported no port'));
        else resolve(port);
      });
    });
  });
}
