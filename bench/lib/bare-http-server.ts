// The ceiling for any Node.js HTTP service on this machine, for the harness: the
// same requests as a binary search, answered by node:http alone with a fixed
// k-result body (k float32 distances + k int64 labels): no FAISS, no Express, no
// auth, no logs. Run as a child process: node bare-http-server.js <k>.
import * as http from 'node:http';

const k = Number(process.argv[2] ?? 10);
const answer = Buffer.alloc(k * 12);
const server = http.createServer((req, res) => {
  req.on('data', () => undefined);
  req.on('end', () => {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(answer.length) });
    res.end(answer);
  });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address() as { port: number };
  console.log(`listening on http://127.0.0.1:${address.port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
