/**
 * One endpoint on its own, outside a worker: the model read from a bucket through a connection
 * profile (its SHA-256 checked when given) and served until the process is told to stop. What a
 * rendered Kubernetes Deployment runs (`cloudshift serve`).
 */
import { StoreResolver } from '../clouds/profiles.js';
import { loadConfig } from '../config.js';
import { loadModel } from '../inference/model.js';
import type { Cloud, ExecutionProvider } from '../spec.js';
import { startInferenceServer } from './server.js';

export interface ServeOptions {
  cloud: Cloud;
  profile: string;
  bucket: string;
  key: string;
  sha256?: string;
  port: number;
  host: string;
  provider: ExecutionProvider;
}

export async function serveEndpoint(options: ServeOptions, log: (line: string) => void): Promise<{ url: string; close(): Promise<void> }> {
  const store = new StoreResolver(loadConfig().profiles).store({ cloud: options.cloud, profile: options.profile, bucket: options.bucket });
  const { bytes, sha256 } = await loadModel(store, options.key, options.sha256, 'the --sha256 given');
  const server = await startInferenceServer({ model: bytes, modelSha256: sha256, executionProvider: options.provider, port: options.port, host: options.host, name: `${options.cloud}:${store.uri}/${options.key}`, log });
  log(`serving ${store.uri}/${options.key} (sha256 ${sha256}) on ${server.url} with ${server.provider}: POST /v1/predict, GET /readyz /healthz /metrics`);
  return server;
}
