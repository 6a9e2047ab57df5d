#!/usr/bin/env node
// faiss-proxy's command line (service/cli/program.ts); `faiss-proxy help` lists its commands.
import { run } from './cli/program';

run(process.argv.slice(2)).catch((e: unknown) => {
  console.error(e);
  process.exit(2);
});
