import { builder } from '../builder.js';
import './roots.js';
import './task-status.js';
import './run.js';
import './run-connection.js';
import './task-mutations.js';
import './definition.js';
import './job.js';
import './statistics.js';
import './shard.js';
import './cluster.js';
import './runner.js';
import './worker-group.js';
import './node.js';
import './audit.js';

/** The whole schema: each import above adds one domain type with its queries and mutations. */
export const schema = builder.toSchema();
