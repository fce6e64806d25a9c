/**
 * What an endpoint tells Prometheus: prediction requests by role (served, or mirrored by the data
 * plane) and outcome, and their latency. Each endpoint has a registry of its own — several run in
 * one worker — whose every series carries the digest of the model it serves. Prometheus's file
 * discovery adds the migration, the side and the cloud (traffic/discovery.ts).
 */
import { Counter, Histogram, Registry } from 'prom-client';

/** Latency buckets in seconds, from 0.5 ms to 10 s. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export type Role = 'served' | 'mirrored';

export interface EndpointMeters {
  registry: Registry;
  /** Handles per role, bound once: the predict path builds no label set per request. */
  byRole: Record<Role, { ok: { inc(): void }; error: { inc(): void }; latency: { observe(seconds: number): void } }>;
}

export function endpointMeters(modelSha256: string): EndpointMeters {
  const registry = new Registry();
  registry.setDefaultLabels({ model_sha256: modelSha256 });
  const requests = new Counter({ name: 'cloudshift_endpoint_requests_total', help: 'Prediction requests by role (served or mirrored) and outcome', labelNames: ['role', 'outcome'] as const, registers: [registry] });
  const latency = new Histogram({ name: 'cloudshift_endpoint_request_seconds', help: 'Prediction request latency by role', labelNames: ['role'] as const, buckets: LATENCY_BUCKETS, registers: [registry] });
  const meters = (role: Role) => ({ ok: requests.labels(role, 'ok'), error: requests.labels(role, 'error'), latency: latency.labels(role) });
  return { registry, byRole: { served: meters('served'), mirrored: meters('mirrored') } };
}
