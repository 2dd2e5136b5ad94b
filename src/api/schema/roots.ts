import { builder } from '../builder.js';

/** The root types. Each domain file adds its own fields to them. */

builder.queryType({ description: 'Everything an operator or a program reads.' });
// The namespaces are nullable so that one failing mutation does not wipe out the answers of the
// others sent with it: in `a: task { create(…) } b: task { create(…) }`, a refused `b` leaves `a`'s
// id in `data` (a non-null namespace would carry the null up to `data: null`, and the caller
// would not learn the id of the run it did create).
builder.mutationType({
  description:
    'Operations, grouped in namespaces: `task { … }`, `cluster { … }`. Several mutations sent together should be aliased root fields ' +
    '(`a: task { … } b: task { … }`): a refused one is `null` with its error, and the others keep their answers.',
});
builder.subscriptionType({ description: 'Live updates over server-sent events (`Accept: text/event-stream`).' });
