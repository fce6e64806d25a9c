/**
 * Gateway overhead: the same load (autocannon, in a process of its own) straight to one inference
 * endpoint, then through the gateway to that endpoint. The endpoint and the gateway each run in a
 * process of their own too, as they would in a deployment. Prints one JSON line.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../src/paths.js';
import { ASSETS_DIR, holdoutRows } from '../src/dev/workload.js';
import { startInferenceServer } from '../src/endpoints/server.js';
import { Gateway } from '../src/traffic/gateway.js';

const SECONDS = 10;
const CONNECTIONS = 16;
const log = (line: string) => console.error(`[bench gateway] ${line}`);

if (process.argv[3] === '--serve') {
  // A child: serve the endpoint, or the gateway in front of the URL given, and print its URL.
  if (process.argv[4] === 'endpoint') {
    const server = await startInferenceServer({ model: new Uint8Array(readFileSync(join(ASSETS_DIR, 'breast-cancer.onnx'))), executionProvider: 'cpu', name: 'bench' });
    console.log(server.url);
  } else {
    const gateway = await Gateway.start({ stateFile: join(mkdtempSync(join(tmpdir(), 'cs-bench-gw-')), 'route.json') });
    await gateway.change({ source: process.argv[5]!, target: process.argv[5]!, targetPercent: 0 });
    console.log(gateway.url);
  }
} else {
  const children: ChildProcess[] = [];
  const serve = (...args: string[]) =>
    new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, 'gateway', '--serve', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(child);
      child.stdout!.once('data', (data: Buffer) => resolve(data.toString().trim()));
      child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}`)));
    });
  const body = JSON.stringify({ instances: [holdoutRows()[0]] });
  const load = async (url: string) => {
    const args = ['-c', String(CONNECTIONS), '-d', String(SECONDS), '-m', 'POST', '-H', 'content-type=application/json', '-b', body, '--json', `${url}/v1/predict`];
    // Warm-up, so both runs start with hot sockets and compiled code.
    await promisify(execFile)(join(PROJECT_ROOT, 'node_modules/.bin/autocannon'), [...args.slice(0, 2), '-d', '2', ...args.slice(4)], { maxBuffer: 1 << 24 });
    const { stdout } = await promisify(execFile)(join(PROJECT_ROOT, 'node_modules/.bin/autocannon'), args, { maxBuffer: 1 << 24 });
    const result = JSON.parse(stdout) as { requests: { average: number }; latency: { p99: number }; non2xx: number; errors: number };
    if (result.non2xx || result.errors) throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
    return { rps: result.requests.average, p99: result.latency.p99 };
  };
  try {
    const endpoint = await serve('endpoint');
    const gateway = await serve('gateway', endpoint);
    log(`direct to ${endpoint}, ${CONNECTIONS} connections, ${SECONDS} s`);
    const direct = await load(endpoint);
    log(`through the gateway ${gateway}`);
    const through = await load(gateway);
    console.log(
      JSON.stringify({
        bench: 'gateway',
        direct_rps: Math.round(direct.rps),
        gateway_rps: Math.round(through.rps),
        ratio: Number((through.rps / direct.rps).toFixed(3)),
        direct_p99_ms: direct.p99,
        gateway_p99_ms: through.p99,
        p99_added_ms: Number((through.p99 - direct.p99).toFixed(3)),
      }),
    );
  } finally {
    for (const child of children) child.kill();
  }
}
