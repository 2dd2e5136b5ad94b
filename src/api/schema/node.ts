import { ROLES } from '../../core/members.js';
import { builder } from '../builder.js';
import { LeaseRef, NodeRef, RunnerRef } from './refs.js';
import { enumName } from './task-status.js';

/** Nodes (processes) with their roles, and the leases that say who does what now. */

const RoleEnum = builder.enumType('Role', {
  values: Object.fromEntries(ROLES.map((role) => [enumName(role), { value: role }])) as Record<string, { value: (typeof ROLES)[number] }>,
});

LeaseRef.implement({
  description: 'A coordination lease: one holder at a time (the active scheduler, the storage node upkeeping a shard).',
  fields: (t) => ({
    name: t.exposeString('name', { description: '`scheduler`, `storage:<shard>` …' }),
    holder: t.exposeString('holder'),
    token: t.exposeFloat('token', { description: 'Fencing token: larger for every new holder.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime' }),
  }),
});

NodeRef.implement({
  description: 'One Taskplane process and the roles its config enables.',
  fields: (t) => ({
    id: t.exposeID('id'),
    roles: t.field({ type: [RoleEnum], resolve: (node) => [...node.roles] }),
    listen: t.exposeString('listen', { nullable: true, description: '`host:port` of its HTTP server; null without the api role.' }),
    storage: t.exposeString('storage', { description: '`mongodb` or `embedded`.' }),
    coordination: t.exposeString('coordination', { description: '`redis` or `in-process`.' }),
    pid: t.exposeInt('pid'),
    version: t.exposeString('version'),
    startedAt: t.field({ type: 'DateTime', resolve: (node) => new Date(node.startedAt) }),
    lastHeartbeat: t.expose('lastHeartbeat', { type: 'DateTime', nullable: true }),
    leases: t.field({
      type: [LeaseRef],
      description: 'Leases this node holds now.',
      resolve: async (node, _args, context) => (await context.leases()).filter((lease) => lease.holder === node.id),
    }),
    runners: t.field({
      type: [RunnerRef],
      resolve: async (node, _args, context) => (await context.runners()).filter((runner) => runner.node === node.id),
    }),
  }),
});

builder.queryFields((t) => ({
  nodes: t.field({
    type: [NodeRef],
    description: 'Live nodes (this one always included).',
    resolve: (_root, _args, context) => context.nodes(),
  }),
  leases: t.field({
    type: [LeaseRef],
    args: { prefix: t.arg.string({ description: 'Only leases whose name starts with this (`storage:`).' }) },
    resolve: (_root, args, context) =>
      args.prefix == null ? context.leases() : context.deps.coordinator.listLeases(args.prefix),
  }),
}));
