import { Command, Option } from 'commander';
import { TaskplaneClient } from '../client/taskplane-client.js';
import { runNode } from '../node/run-node.js';
import { addClusterCommands } from './cluster-commands.js';
import { addConfigCommands } from './config-command.js';
import { createOutput, type Output } from './output.js';
import { addTaskCommands } from './task-commands.js';
import { addTokenCommands } from './token-command.js';

/**
 * The `taskplane` command line: `start` runs a node in this process (as `npm start` does); every
 * other command is one or two GraphQL requests through `TaskplaneClient`.
 *
 * Global options, before or after the command: `--url` (TASKPLANE_URL), `--token`
 * (TASKPLANE_TOKEN, sent as `Authorization: Bearer`), `--json`.
 */

export const DEFAULT_URL = 'http://127.0.0.1:4000/graphql';

export interface CommandContext {
  readonly client: TaskplaneClient;
  readonly out: Output;
}

interface GlobalOptions {
  url: string;
  token?: string;
  json?: boolean;
}

function contextOf(command: Command): CommandContext {
  const options = command.optsWithGlobals<GlobalOptions>();
  return {
    client: new TaskplaneClient({ url: options.url, ...(options.token ? { token: options.token } : {}) }),
    out: createOutput(options.json === true),
  };
}

/** Whether the parsed command line asks for JSON (errors are then printed as JSON too). */
export function wantsJson(program: Command, argv: readonly string[]): boolean {
  return program.opts<GlobalOptions>().json === true || argv.includes('--json');
}

export function buildProgram(): Command {
  const program = new Command('taskplane')
    .description('Taskplane: run a node, or operate a cluster over its GraphQL API.')
    .version('0.1.0')
    .addOption(new Option('--url <url>', 'GraphQL endpoint of an api node').env('TASKPLANE_URL').default(DEFAULT_URL))
    .addOption(new Option('--token <token>', 'API token, sent as Authorization: Bearer').env('TASKPLANE_TOKEN'))
    .option('--json', 'machine-readable output (and errors) as JSON')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();

  program
    .command('start')
    .description('start a node with the roles its config names (as npm start does); with no file, the embedded single node')
    .option('--config <file>', 'the YAML config file (or TASKPLANE_CONFIG)')
    .action(async (options: { config?: string }) => {
      await runNode({ argv: options.config !== undefined ? ['--config', options.config] : [], env: process.env, cwd: process.cwd() });
    });

  addTaskCommands(program, contextOf);

  program
    .command('stats')
    .description('runs by status, across all shards')
    .addOption(new Option('--by <group>', 'one row per cluster, task name or shard').choices(['cluster', 'name', 'shard']))
    .action(async (options: { by?: 'cluster' | 'name' | 'shard' }, command: Command) => {
      const { client, out } = contextOf(command);
      if (!options.by) {
        const stats = await client.statistics();
        out.table(['STATUS', 'RUNS'], Object.entries(stats).map(([status, count]) => [status, String(count)]), stats);
        return;
      }
      const rows = await client.statisticsBy(options.by);
      const statuses = ['pending', 'running', 'completed', 'failed', 'lost', 'stopped', 'didNotStart', 'unknownTask', 'total'] as const;
      out.table(
        [options.by.toUpperCase(), ...statuses.map((status) => status.toUpperCase())],
        rows.map((row) => [row.key, ...statuses.map((status) => (row.counts ? String(row.counts[status]) : 'unavailable'))]),
        rows,
      );
    });

  addClusterCommands(program, contextOf);
  addConfigCommands(program, contextOf);
  addTokenCommands(program);

  // Every subcommand reports parse errors the same way (exit code 2, see main.ts).
  for (const command of allCommands(program)) command.exitOverride().showHelpAfterError('(add --help for usage)');
  return program;
}

function allCommands(command: Command): Command[] {
  return command.commands.flatMap((sub) => [sub, ...allCommands(sub)]);
}
