// `faiss-proxy serve`, for the soak: the real service over the real disk, with
// a full disk on demand. SIGUSR2 fills the disk (every write fails with ENOSPC,
// full-disk-io.ts) or frees it again, and prints which ("soak-server: disk full"
// / "soak-server: disk free"), so the soak can inject storage faults into a
// process it also SIGKILLs. Usage: node soak-server.js serve [serve options].
import { loadConfig } from '../../service/config';
import { startServer } from '../../service/server';
import { FullDiskIO } from './full-disk-io';

async function main(): Promise<void> {
  const config = loadConfig(process.argv.slice(3));
  let disk: FullDiskIO | undefined;
  const running = await startServer(config, console.log, { io: (onFault) => (disk = new FullDiskIO(onFault)) });
  console.log(`faiss-proxy: listening on ${running.url} (data in ${config.dataDir})`);
  process.on('SIGUSR2', () => {
    disk!.full = !disk!.full;
    console.log(`soak-server: disk ${disk!.full ? 'full' : 'free'}`);
  });
  process.on('SIGTERM', () => {
    running.shutdown().then(
      () => process.exit(0),
      (e) => {
        console.error('faiss-proxy: shutdown failed', e);
        process.exit(1);
      },
    );
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
