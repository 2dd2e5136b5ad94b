import type { Command } from 'commander';
import { TaskplaneClientError, type ClusterView } from '../client/taskplane-client.js';
import { time } from './output.js';
import type { CommandContext } from './program.js';
import { UsageError } from './usage-error.js';

/** `taskplane cluster …`: named groups of runners. */
export function addClusterCommands(program: Command, context: (command: Command) => CommandContext): void {
  const cluster = program.command('cluster').description('clusters: create, list, delete');

  cluster
    .command('create')
    .description("create a cluster; prints its slug (name-<generated id>, or --slug)")
    .argument('<name>', 'cluster name')
    .option('--slug <slug>', 'the slug to use instead of a generated one')
    .option('--description <text>', 'what the cluster is for')
    .option('--exists-ok', 'succeed when a cluster with this --slug exists already (deployment scripts run it on every start)')
    .action(async (name: string, options: { slug?: string; description?: string; existsOk?: boolean }, command: Command) => {
      const { client, out } = context(command);
      const { existsOk, ...fields } = options;
      if (existsOk && fields.slug === undefined) throw new UsageError('--exists-ok needs --slug: a generated slug never exists already');
      let cluster: ClusterView | undefined;
      try {
        cluster = await client.createCluster(name, fields);
      } catch (error) {
        const taken = existsOk && error instanceof TaskplaneClientError && error.code === 'CONFLICT';
        cluster = taken ? (await client.clusters()).find((c) => c.slug === fields.slug) : undefined;
        if (!cluster) throw error;
      }
      out.value(cluster.slug, cluster);
    });

  cluster
    .command('list')
    .description('list clusters')
    .action(async (_options: object, command: Command) => {
      const { client, out } = context(command);
      const clusters = await client.clusters();
      out.table(
        ['SLUG', 'NAME', 'DEFAULT', 'CREATED', 'DESCRIPTION'],
        clusters.map((c) => [c.slug, c.name, c.isDefault ? 'yes' : '', time(c.createdAt), c.description ?? '']),
        clusters,
      );
    });

  cluster
    .command('delete')
    .description('delete a cluster with no live runners and no pending or running runs')
    .argument('<slug>', 'cluster slug')
    .action(async (slug: string, _options: object, command: Command) => {
      const { client, out } = context(command);
      const deleted = await client.deleteCluster(slug);
      out.value(`deleted ${slug}`, { slug, deleted });
    });
}
