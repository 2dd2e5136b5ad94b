import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { DefinitionInputView } from '../client/taskplane-client.js';
import { loadConfig } from '../config/load-config.js';
import type { DefinitionInput } from '../core/definition.js';
import type { CommandContext } from './program.js';

/**
 * `taskplane config apply FILE`: checks the file exactly as a node would at start (the config
 * module, with no environment overrides), then sends its `tasks:` to the `applyConfig`
 * mutation, which makes them the cluster's config-file definitions — what SIGHUP does on a
 * scheduler node, without a shell on that node.
 */
export function addConfigCommands(program: Command, context: (command: Command) => CommandContext): void {
  const config = program.command('config').description('cluster-wide config');

  config
    .command('apply')
    .description("check a config file and make its tasks: the cluster's config-file task definitions")
    .argument('<file>', 'the YAML config file')
    .option('--dry-run', 'check the file and print the definitions; send nothing')
    .action(async (file: string, options: { dryRun?: boolean }, command: Command) => {
      const { client, out } = context(command);
      // A bad file throws ConfigError (file, key, reason) before anything is sent.
      const compiled = loadConfig({ argv: ['--config', resolve(file)], env: {}, cwd: process.cwd() });
      const definitions = compiled.tasks.map(toGraphqlInput);
      if (options.dryRun) {
        out.table(
          ['NAME', 'KIND', 'FUNC', 'SCHEDULE', 'CLUSTER'],
          definitions.map((d) => [d.name, d.kind, d.funcName, String(d.schedule ?? ''), String(d.cluster ?? 'default')]),
          { definitions },
        );
        return;
      }
      const result = await client.applyConfig(definitions);
      out.table(
        ['CHANGE', 'TASKS'],
        (['added', 'updated', 'removed', 'unchanged'] as const).map((change) => [change, result[change].join(', ') || '-']),
        result,
      );
    });
}

/** A compiled definition as the `TaskDefinitionInput` GraphQL type spells it (kind and runtime as enum names). */
function toGraphqlInput(definition: DefinitionInput): DefinitionInputView {
  const runtime = definition.runtime?.toUpperCase();
  return { ...definition, kind: definition.kind.toUpperCase(), ...(runtime ? { runtime } : {}) } as DefinitionInputView;
}
