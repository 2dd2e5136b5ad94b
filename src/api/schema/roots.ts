import { builder } from '../builder.js';

/** The root types. Each domain file adds its own fields to them. */

builder.queryType({ description: 'Everything an operator or a program reads.' });
builder.mutationType({ description: 'Operations, grouped in namespaces: `task { … }`, `cluster { … }`.' });
builder.subscriptionType({ description: 'Live updates over server-sent events (`Accept: text/event-stream`).' });
