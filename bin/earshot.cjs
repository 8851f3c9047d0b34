#!/usr/bin/env node
'use strict';
// Every open capture stream parks one libuv thread-pool thread in a blocking
// native read, and the pool is shared by the whole process (file I/O, DNS).
// Its size is fixed on first use, so it is raised here, before anything runs.
if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = '32';
import('../dist/src/cli/main.js').then(
  (cli) => cli.main(process.argv),
  (error) => {
    console.error(`earshot: cannot start (${error.message}). Build it first: npm run build`);
    process.exit(1);
  },
);
