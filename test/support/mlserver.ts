/**
 * Seldon MLServer, a second real serving stack, started for a test: one ONNX model served over
 * V2 by cloudshift's MLServer runtime (deploy/mlserver), as a platform team's production endpoint
 * that a migration adopts. Installed by scripts/install.sh (.stack/mlserver).
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT, STATE_DIR } from '../../src/paths.js';
import { stopProcess } from '../../src/processes.js';
import { freePort } from './ports.js';

export interface RunningMlserver {
  url: string;
  metricsUrl: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startMlserver(options: { model: Uint8Array; name: string; version?: string }): Promise<RunningMlserver> {
  const root = mkdtempSync(join(tmpdir(), 'cs-mlserver-'));
  const folder = join(root, options.name);
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'model.onnx'), options.model);
  writeFileSync(
    join(folder, 'model-settings.json'),
    JSON.stringify({ name: options.name, implementation: 'cloudshift_onnx.OnnxModel', versions: [options.version ?? '1'], parameters: { uri: './model.onnx', version: options.version ?? '1' } }),
  );
  const [http, grpc, metrics] = [await freePort(), await freePort(), await freePort()];
  writeFileSync(join(root, 'settings.json'), JSON.stringify({ host: '127.0.0.1', http_port: http, grpc_port: grpc, metrics_port: metrics, parallel_workers: 0, debug: false }));
  const logFile = join(root, 'mlserver.log');
  const log = openSync(logFile, 'a');
  const child = spawn(join(STATE_DIR, 'mlserver', 'bin', 'mlserver'), ['start', root], {
    cwd: root,
    detached: true,
    stdio: ['ignore', log, log],
    env: { ...process.env, PYTHONPATH: join(PROJECT_ROOT, 'deploy', 'mlserver') },
  });
  closeSync(log);
  const url = `http://127.0.0.1:${http}`;
  const stop = () => stopProcess(-child.pid!, 'SIGTERM', 10_000).then(() => stopProcess(child.pid!, 'SIGKILL', 0));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ready = await fetch(`${url}/v2/models/${options.name}/ready`).then((r) => r.ok, () => false);
    if (ready) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`MLServer did not become ready: ${readFileSync(logFile, 'utf8').split('\n').slice(-8).join(' | ')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return { url, metricsUrl: `http://127.0.0.1:${metrics}/metrics`, pid: child.pid!, stop };
}
