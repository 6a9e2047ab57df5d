// The collections contract (test/collections/contract-suite.ts), which the
// embedded collections run in memory and on disk, run by the remote client
// (connect()) against a real server process, as parity.test.ts does for indexes.
import * as fs from 'node:fs';
import { connect } from '../../lib/client';
import { registerContractSuite } from '../collections/contract-suite';
import { makeTenant, startServer } from '../support/server';

const MAX_PAYLOAD_BYTES = 4096;

registerContractSuite('remote (connect() to a server)', async () => {
  const server = await startServer({ args: ['--max-payload-bytes', String(MAX_PAYLOAD_BYTES)] });
  const keys = await makeTenant(server, 'contract');
  return {
    api: connect({ url: server.url, apiKey: keys.write }),
    maxPayloadBytes: MAX_PAYLOAD_BYTES,
    close: async () => {
      await server.stop();
      fs.rmSync(server.dataDir, { recursive: true, force: true });
    },
  };
});
