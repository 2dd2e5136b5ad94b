import { connect, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy between the browser and the node, so a test can cut connections the way a network
 * blip or a restarting load balancer would: `drop()` closes every open connection (the UI's live
 * streams with them), and while `down` new connections are closed on arrival.
 */
export interface TcpProxy {
  readonly port: number;
  /** Closes every connection open now. */
  drop(): void;
  /** While true, connections are closed as they arrive. */
  setDown(down: boolean): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let down = false;
  const server = createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = connect(target.port, target.host);
    const pair = [client, upstream];
    const end = () => pair.forEach((socket) => (socket.destroy(), sockets.delete(socket)));
    for (const socket of pair) {
      sockets.add(socket);
      socket.on('error', end);
      socket.on('close', end);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const drop = () => [...sockets].forEach((socket) => socket.destroy());
  return {
    port: (server.address() as AddressInfo).port,
    drop,
    setDown(value) {
      down = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        drop();
        server.close(() => resolve());
      }),
  };
}
