import type { Command } from 'commander';
import { TaskplaneClientError, type LaunchOptionsInput, type TaskView } from '../client/taskplane-client.js';
import { jsonCell, time } from './output.js';
import { integer, jsonOption, number, statusList } from './parse-options.js';
import type { CommandContext } from './program.js';

/** `taskplane task …`: launch, stop, retry, forget, show and list runs. */
export function addTaskCommands(program: Command, context: (command: Command) => CommandContext): void {
  const task = program.command('task').description('runs: start, create, stop, retry, forget, get, list');

  task
    .command('start')
    .description("launch task definition NAME; prints the new run's id")
    .argument('<name>', 'task definition name')
    .option('--args <json>', "handler arguments as JSON (replace the definition's)")
    .action(async (name: string, options: { args?: string }, command: Command) => {
      const { client, out } = context(command);
      const id = await client.start(name, jsonOption('--args', options.args));
      out.value(id, { id });
    });

  task
    .command('create')
    .description("launch an anonymous run of handler FUNC (module.function); prints the new run's id")
    .argument('<func>', 'handler name, module.function')
    .option('--args <json>', 'handler arguments as JSON')
    .option('--cluster <slug>', 'cluster whose runners may take it (default: default)')
    .option('--tag <tag>', 'only runners listening to this tag take it')
    .option('--priority <n>', 'higher runs first', integer)
    .option('--max-attempts <n>', 'attempts before it fails for good', integer)
    .option('--ttr <seconds>', 'lease seconds (time to resolve)', number)
    .action(async (func: string, options: { args?: string; cluster?: string; tag?: string; priority?: number; maxAttempts?: number; ttr?: number }, command: Command) => {
      const { client, out } = context(command);
      const launch: LaunchOptionsInput = {
        ...(options.cluster !== undefined ? { cluster: options.cluster } : {}),
        ...(options.tag !== undefined ? { tag: options.tag } : {}),
        ...(options.priority !== undefined ? { priority: options.priority } : {}),
        ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
        ...(options.ttr !== undefined ? { timeToResolve: options.ttr } : {}),
      };
      const id = await client.create(func, jsonOption('--args', options.args), launch);
      out.value(id, { id });
    });

  task
    .command('stop')
    .description('stop a run: pending → STOPPED; running → its handler is aborted, then STOPPED')
    .argument('<id>', 'run id')
    .action(async (id: string, _options: object, command: Command) => {
      const { client, out } = context(command);
      const stopped = await client.stop(id);
      out.value(stopped, { id: stopped });
    });

  task
    .command('retry')
    .description('run a finished run again (PENDING with a fresh attempt budget)')
    .argument('<id>', 'run id')
    .action(async (id: string, _options: object, command: Command) => {
      const { client, out } = context(command);
      const retried = await client.retry(id);
      out.value(retried, { id: retried });
    });

  task
    .command('forget')
    .description('delete a finished run')
    .argument('<id>', 'run id')
    .action(async (id: string, _options: object, command: Command) => {
      const { client, out } = context(command);
      const forgotten = await client.forget(id);
      out.value(`forgot ${id}`, { id, forgotten });
    });

  task
    .command('get')
    .description('show a run')
    .argument('<id>', 'run id')
    .action(async (id: string, _options: object, command: Command) => {
      const { client, out } = context(command);
      const run = await client.task(id);
      if (!run) throw new TaskplaneClientError('NOT_FOUND', `run ${id} does not exist (it may have been forgotten or trimmed)`);
      out.fields(
        [
          ['id', run.id],
          ['name', run.name],
          ['funcName', run.funcName],
          ['kind', run.kind],
          ['status', run.status],
          ['attempt', `${run.attempt} of ${run.maxAttempts}`],
          ['cluster', run.cluster],
          ['tag', run.tag],
          ['args', jsonCell(run.args)],
          ['result', jsonCell(run.result)],
          ['error', run.error ?? '-'],
          ['reason', run.reason ?? '-'],
          ['createdAt', time(run.createdAt)],
          ['startedAt', time(run.startedAt)],
          ['finishedAt', time(run.finishedAt)],
        ],
        run,
      );
    });

  task
    .command('list')
    .description('list runs, newest first')
    .option('--status <list>', 'only these statuses, comma-separated (pending,running,completed,failed,lost,stopped,did_not_start,unknown_task)', statusList)
    .option('--name <name>', 'only runs of this task name (or handler, for anonymous runs)')
    .option('--cluster <slug>', 'only runs in this cluster')
    .option('--first <n>', 'page size (1 to 1000)', integer, 20)
    .option('--after <cursor>', 'the cursor a previous page printed')
    .action(async (options: { status?: string[]; name?: string; cluster?: string; first: number; after?: string }, command: Command) => {
      const { client, out } = context(command);
      const page = await client.tasks(
        {
          ...(options.status ? { status: options.status } : {}),
          ...(options.name !== undefined ? { name: options.name } : {}),
          ...(options.cluster !== undefined ? { cluster: options.cluster } : {}),
        },
        { first: options.first, after: options.after ?? null },
      );
      out.table(
        ['ID', 'NAME', 'KIND', 'STATUS', 'ATTEMPT', 'CLUSTER', 'CREATED', 'FINISHED', 'RESULT'],
        page.tasks.map((run: TaskView) => [
          run.id,
          run.name,
          run.kind,
          run.status,
          `${run.attempt}/${run.maxAttempts}`,
          run.cluster,
          time(run.createdAt),
          time(run.finishedAt),
          run.status === 'COMPLETED' ? jsonCell(run.result) : (run.error ?? run.reason ?? ''),
        ]),
        { tasks: page.tasks, pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor }, unavailableShards: page.unavailableShards },
      );
      if (page.unavailableShards.length > 0) out.note(`shards that did not answer (their runs are missing): ${page.unavailableShards.join(', ')}`);
      if (page.hasNextPage && page.endCursor) out.note(`more: add --after ${page.endCursor}`);
    });
}
