// A loopback port for a server a test starts with a port of its own choosing (nats-server,
// nginx). Such a port must stay free from the moment it is chosen until the server binds it,
// while other test files run beside this one (scripts/run-tests.js runs several at once). A
// port the kernel hands to `listen(0)` comes from its ephemeral range, the range it also takes
// the source port of every outgoing connection from, and any of those could take it in that
// moment: so the port is drawn at random below that range instead, where only another test's
// draw could fall, and checked free by binding it. A test whose server still fails to bind
// draws again (nats-cluster.ts starts its cluster again on new ports).
import * as fs from 'node:fs';
import * as net from 'node:net';

const FLOOR = 10_000;

// The first port of the kernel's ephemeral range (net.ipv4.ip_local_port_range).
function ephemeralFloor(): number {
  try {
    const first = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(first) && first > FLOOR + 1000) return first;
  } catch {
    // Not Linux: below.
  }
  return 32_768;
}

const CEILING = ephemeralFloor();
const handedOut = new Set<number>();

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ port, host: '127.0.0.1', exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/** A loopback port below the ephemeral range, free now, and not handed out before by this process. */
export async function unusedPort(): Promise<number> {
  for (let tries = 0; tries < 1000; tries++) {
    const port = FLOOR + Math.floor(Math.random() * (CEILING - FLOOR));
    if (handedOut.has(port) || !(await bindable(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free loopback port between ${FLOOR} and ${CEILING} after 1000 draws`);
}
