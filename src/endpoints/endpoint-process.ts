/**
 * One endpoint as a process of its own, started by the local deployer (deployer.ts) and outliving
 * the worker that started it: a worker that dies, or restarts for a new build, leaves the model
 * serving, and the next worker adopts it from its state file. It loads the model from the local
 * copy the deployer verified (checking its SHA-256 again), writes `endpoint.json` once ready (or
 * `failed.json` with the error's type), and stops on SIGTERM after the requests in flight.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import type { ExecutionProvider } from '../spec.js';
import { type Faults, startInferenceServer } from './server.js';

export interface EndpointProcessConfig {
  modelFile: string;
  sha256: string;
  executionProvider: ExecutionProvider;
  host?: string;
  advertiseHost?: string;
  name: string;
  modelName: string;
  modelVersion: string;
  replicas: number;
  threadsPerReplica: number;
  faults?: Faults;
  /** Where the ready endpoint is written: `{url, pid, provider, modelSha256, replicas}`. */
  stateFile: string;
  /** Where a failure to start is written: `{type, message}`. */
  failureFile: string;
}

export interface EndpointState {
  url: string;
  pid: number;
  provider: 'cpu' | 'cuda';
  modelSha256: string;
  replicas: number;
}

async function writeAtomically(path: string, value: unknown): Promise<void> {
  await writeFile(`${path}.tmp`, JSON.stringify(value));
  await rename(`${path}.tmp`, path);
}

async function main(config: EndpointProcessConfig): Promise<void> {
  const model = await readFile(config.modelFile);
  const sha256 = createHash('sha256').update(model).digest('hex');
  if (sha256 !== config.sha256) {
    throw Object.assign(new Error(`the local copy ${config.modelFile} hashes to ${sha256}, not the ${config.sha256} verified at the store`), { name: 'ModelChecksumMismatch' });
  }
  const server = await startInferenceServer({
    model,
    modelSha256: sha256,
    executionProvider: config.executionProvider,
    host: config.host,
    advertiseHost: config.advertiseHost,
    name: config.name,
    modelName: config.modelName,
    modelVersion: config.modelVersion,
    replicas: config.replicas,
    threadsPerReplica: config.threadsPerReplica,
    faults: config.faults,
    log: (line) => console.log(line),
  });
  await writeAtomically(config.stateFile, { url: server.url, pid: process.pid, provider: server.provider, modelSha256: sha256, replicas: server.replicas } satisfies EndpointState);
  console.log(`serving ${config.name} as "${config.modelName}" on ${server.url} (${server.provider}, ${server.replicas} replica(s))`);
  const stop = () => {
    void server.close().finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

const config = JSON.parse(process.argv[2] ?? '{}') as EndpointProcessConfig;
main(config).catch(async (error: unknown) => {
  const e = error instanceof Error ? error : new Error(String(error));
  console.error(e.stack ?? e.message);
  await writeAtomically(config.failureFile, { type: e.name, message: e.message }).catch(() => undefined);
  process.exit(1);
});
