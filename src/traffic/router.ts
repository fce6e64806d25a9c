/**
 * How activities reach the traffic layer. The local router runs one gateway per migration inside
 * the control worker and talks to it over its admin API, as a remote router would; an Envoy, a
 * cloud load balancer or a service mesh can implement the same interface.
 */
import { join } from 'node:path';
import type { Route, RouteChange } from './gateway.js';
import { Gateway } from './gateway.js';
import type { CanaryWindow } from './window.js';

export interface GatewayInfo {
  /** Where callers send prediction requests. */
  url: string;
  route: Route;
}

export interface TrafficRouter {
  /** Idempotent: the migration's gateway, with this route unless it already has one. */
  ensureGateway(migration: string, initial: Omit<RouteChange, 'revision'> & { source: string; target: string }): Promise<GatewayInfo>;
  setRoute(migration: string, change: RouteChange): Promise<{ route: Route; applied: boolean }>;
  openWindow(migration: string): Promise<CanaryWindow>;
  readWindow(migration: string): Promise<CanaryWindow>;
}

export class LocalTrafficRouter implements TrafficRouter {
  private readonly gateways = new Map<string, Promise<Gateway>>();

  constructor(private readonly stateDir: string) {}

  async ensureGateway(migration: string, initial: Omit<RouteChange, 'revision'> & { source: string; target: string }): Promise<GatewayInfo> {
    const gateway = await this.gateway(migration);
    if (!gateway.currentRoute) await admin(gateway.adminUrl, 'PUT', '/routes', { targetPercent: 0, mirror: false, ...initial });
    const route = (await admin(gateway.adminUrl, 'GET', '/routes')) as Route;
    // The endpoints may have moved (a restarted worker serves them on new ports): follow them.
    if (route.source !== initial.source || route.target !== initial.target) {
      const changed = (await admin(gateway.adminUrl, 'PUT', '/routes', { source: initial.source, target: initial.target })) as { route: Route };
      return { url: gateway.url, route: changed.route };
    }
    return { url: gateway.url, route };
  }

  async setRoute(migration: string, change: RouteChange) {
    return (await admin((await this.gateway(migration)).adminUrl, 'PUT', '/routes', change)) as { route: Route; applied: boolean };
  }

  async openWindow(migration: string): Promise<CanaryWindow> {
    return (await admin((await this.gateway(migration)).adminUrl, 'POST', '/window')) as CanaryWindow;
  }

  async readWindow(migration: string): Promise<CanaryWindow> {
    return (await admin((await this.gateway(migration)).adminUrl, 'GET', '/window')) as CanaryWindow;
  }

  async closeAll(): Promise<void> {
    const all = [...this.gateways.values()];
    this.gateways.clear();
    await Promise.all(all.map(async (g) => (await g.catch(() => undefined))?.close()));
  }

  private gateway(migration: string): Promise<Gateway> {
    let gateway = this.gateways.get(migration);
    if (!gateway) {
      gateway = Gateway.start({ stateFile: join(this.stateDir, `${migration}.json`) });
      this.gateways.set(migration, gateway);
      gateway.catch(() => this.gateways.delete(migration));
    }
    return gateway;
  }
}

async function admin(base: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(new URL(path, base), {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = (await response.json()) as { error?: string };
  if (!response.ok) throw new Error(`gateway admin ${method} ${path} at ${base}: ${response.status} ${answer.error ?? ''}`.trim());
  return answer;
}
