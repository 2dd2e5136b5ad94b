import type { AuditEntry } from '../../catalog/contract.js';
import { builder } from '../builder.js';

/** The audit log: every mutation request an api node executed or refused (admin only, see `auth/permissions.ts`). */

const AuditEntryRef = builder.objectRef<AuditEntry>('AuditEntry');

AuditEntryRef.implement({
  description: 'One mutation request: who sent it, what it did, when, and how it ended.',
  fields: (t) => ({
    id: t.exposeID('id'),
    at: t.expose('at', { type: 'DateTime' }),
    actor: t.exposeString('actor', { description: 'The token name; `anonymous` when auth is off; `unauthenticated` for a request without a valid token.' }),
    role: t.exposeString('role'),
    address: t.exposeString('address', { nullable: true, description: 'The peer address the api node saw.' }),
    operations: t.exposeStringList('operations', { description: 'Mutation fields, e.g. `task.start`.' }),
    variables: t.exposeString('variables', { nullable: true, description: 'The request variables as JSON, cut to 2,000 characters.' }),
    outcome: t.exposeString('outcome', { description: '`ok` or `error`.' }),
    errors: t.exposeStringList('errors', { description: 'Error codes of a failed or refused request.' }),
  }),
});

builder.queryFields((t) => ({
  auditLog: t.field({
    type: [AuditEntryRef],
    description: 'The newest audit entries, newest first (admin only).',
    args: {
      first: t.arg.int({ defaultValue: 50, description: 'At most 1000.' }),
      actor: t.arg.string({ description: 'Only entries of this token name.' }),
    },
    resolve: (_root, args, context) => context.deps.catalog.listAudit(Math.max(1, Math.min(args.first ?? 50, 1000)), args.actor ?? undefined),
  }),
}));
