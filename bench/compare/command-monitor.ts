import { MongoClient } from 'mongodb';

/**
 * Counts the MongoDB commands of every client a worker process opens — Taskplane's node builds
 * its own clients (store shards, catalog) and offers no hook, Agenda's backend is given one — with
 * the driver's command monitoring (`monitorCommands`, `commandStarted` / `commandFailed`).
 *
 * Done by switching monitoring on in `MongoClient.prototype.connect`, which every client passes
 * through (the driver's auto-connect calls it too) before it opens a connection. Only the worker
 * child installs this: it changes nothing but what the driver reports.
 */
export function monitorEveryMongoClient(onCommand: (name: string) => void, onFailed: (name: string, message: string) => void): void {
  const proto = MongoClient.prototype as MongoClient & { __benchMonitored?: true };
  if (proto.__benchMonitored) return;
  proto.__benchMonitored = true;
  const connect = proto.connect;
  const watched = new WeakSet<MongoClient>();
  proto.connect = function connectMonitored(this: MongoClient) {
    if (!watched.has(this)) {
      watched.add(this);
      // A public setter at runtime (driver 6), left out of the typings.
      (this as MongoClient & { monitorCommands: boolean }).monitorCommands = true;
      this.on('commandStarted', (event) => onCommand(event.commandName));
      this.on('commandFailed', (event) => onFailed(event.commandName, event.failure.message));
    }
    return connect.call(this);
  } as typeof proto.connect;
}
