/**
 * `npm start` — starts one Taskplane node with the roles its config names (see `node/run-node.ts`).
 *
 *   npm start                          embedded single node with example tasks
 *   npm start -- --config FILE         (or TASKPLANE_CONFIG=FILE)
 *
 * `taskplane start [--config FILE]` (src/cli) runs the same code.
 */
import { runNode } from './node/run-node.js';

void runNode({ argv: process.argv.slice(2), env: process.env, cwd: process.cwd() });
