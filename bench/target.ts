// The probed service: a node:http server on 127.0.0.1 answering 200 to every path. It runs in a
// process of its own so its CPU counts against neither the watchdog nor blackbox_exporter.
import { createServer } from 'node:http';

const port = Number(process.env.BENCH_TARGET_PORT);
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('ok\n');
});
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
