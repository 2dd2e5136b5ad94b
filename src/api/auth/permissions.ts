import { Kind, type DocumentNode, type FragmentDefinitionNode, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import type { ApiRole } from './tokens.js';

/**
 * Who may do what. Queries and subscriptions need `viewer` (except the fields in
 * `QUERY_ROLES`); each mutation field names its role here, by its path under the mutation
 * namespaces (`task.start`). A mutation missing from the table needs `admin` — failing closed —
 * and a test checks that every mutation of the schema is listed, so a new one gets a role on
 * purpose.
 */
export const MUTATION_ROLES: Readonly<Record<string, ApiRole>> = {
  'task.start': 'operator',
  'task.create': 'operator',
  'task.stop': 'operator',
  'task.retry': 'operator',
  'task.forget': 'operator',
  'task.define': 'admin',
  'task.update': 'admin',
  'task.remove': 'admin',
  'task.applyConfig': 'admin',
  'job.submit': 'operator',
  'job.cancel': 'operator',
  'job.retry': 'operator',
  'cluster.create': 'admin',
  'cluster.update': 'admin',
  'cluster.delete': 'admin',
  'workerGroup.put': 'admin',
  'workerGroup.delete': 'admin',
};

/** Query fields that need more than `viewer`. */
export const QUERY_ROLES: Readonly<Record<string, ApiRole>> = {
  auditLog: 'admin',
  // Reads every run of every shard.
  exactStatistics: 'admin',
};

export interface OperationAccess {
  /** The role the operation needs: the highest of its fields'. */
  readonly role: ApiRole;
  /** Mutation paths it executes (`task.start`), for the audit log and rate limits. */
  readonly mutations: readonly string[];
}

const RANK: Readonly<Record<ApiRole, number>> = { viewer: 0, operator: 1, admin: 2 };

/** What `operation` needs, reading its selections (fragments included). */
export function accessOf(document: DocumentNode, operation: OperationDefinitionNode): OperationAccess {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  let role: ApiRole = 'viewer';
  const raise = (needed: ApiRole) => {
    if (RANK[needed] > RANK[role]) role = needed;
  };
  const mutations: string[] = [];
  const top = fieldsOf(operation.selectionSet, fragments);
  if (operation.operation === 'mutation') {
    for (const namespace of top) {
      if (namespace.name === '__typename') continue;
      const inner = namespace.selectionSet ? fieldsOf(namespace.selectionSet, fragments) : [];
      const paths = inner.filter((field) => field.name !== '__typename').map((field) => `${namespace.name}.${field.name}`);
      for (const path of paths.length > 0 ? paths : [namespace.name]) {
        mutations.push(path);
        raise(MUTATION_ROLES[path] ?? 'admin');
      }
    }
  } else {
    for (const field of top) raise(QUERY_ROLES[field.name] ?? 'viewer');
  }
  return { role, mutations: [...new Set(mutations)] };
}

interface FieldRef {
  readonly name: string;
  readonly selectionSet: SelectionSetNode | undefined;
}

/** The fields of a selection set, fragments flattened (bounded: each fragment is expanded once). */
function fieldsOf(set: SelectionSetNode, fragments: ReadonlyMap<string, FragmentDefinitionNode>, seen = new Set<string>()): FieldRef[] {
  const fields: FieldRef[] = [];
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) fields.push({ name: selection.name.value, selectionSet: selection.selectionSet });
    else if (selection.kind === Kind.INLINE_FRAGMENT) fields.push(...fieldsOf(selection.selectionSet, fragments, seen));
    else {
      const fragment = fragments.get(selection.name.value);
      if (fragment && !seen.has(fragment.name.value)) {
        seen.add(fragment.name.value);
        fields.push(...fieldsOf(fragment.selectionSet, fragments, seen));
      }
    }
  }
  return fields;
}
