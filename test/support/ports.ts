import { createServer } from 'node:net';

/** A loopback port nothing listens on right now (a test's server or a worker's metrics take it next). */
export const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
