// A child process that runs one durability scenario (support/durability.ts)
// with the storage I/O armed to SIGKILL it at the Nth durable call: a real
// crash at a named point. Prints {"completed":true,...} when the operation
// finished without meeting the point, and exits without any shutdown work.
// Usage: node crash-child.js <dataDir> <scenario name> <n> [point prefix]
import { open, scenarios } from './durability';
import { FaultyIO } from './faulty-io';

async function main(): Promise<void> {
  const [dataDir, name, n, only] = process.argv.slice(2);
  const scenario = scenarios.find((x) => x.name === name);
  if (!scenario) throw new Error(`no scenario ${name}`);
  const io = new FaultyIO();
  const s = await open(dataDir, io);
  await scenario.warm?.(s);
  io.arm(Number(n), 'kill', only);
  await scenario.run(s);
  process.stdout.write(JSON.stringify({ completed: true, points: io.points }));
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
