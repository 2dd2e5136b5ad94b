#!/usr/bin/env node
// The `taskplane` command. Taskplane runs from its TypeScript sources through tsx (a runtime
// dependency), as `npm start` does, so the command and the node never disagree about the code.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/cli/run-cli.ts');
const code = await runCli(process.argv);
// `start` leaves its node running (it exits on SIGTERM); any other command is done here.
if (code !== 0) process.exit(code);
else process.exitCode = 0;
