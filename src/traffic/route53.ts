/**
 * Weighted DNS on Route 53: two weighted record sets under one name, one per side (set identifiers
 * `cloudshift-<migration>-source|target`), and a TXT record beside them that holds the route's
 * revision. Every change writes all three in one change batch, which Route 53 applies atomically,
 * so a reader never sees the weights of one change with the revision of another; Route 53 itself
 * keeps them, so nothing restarts without them. DNS cannot copy a request or pin a caller, and
 * counts nothing: the analysis reads the endpoints' own metrics.
 */
import {
  ChangeResourceRecordSetsCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  type ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import { isIP } from 'node:net';
import { type AwsProfile, readCredentialsFile } from '../clouds/profiles.js';
import type { ScrapeTarget } from './discovery.js';
import { ROUTER_CAPABILITIES, type Route } from './route.js';
import { checkCapabilities, type RouteBackends, type RouterInfo, type TrafficRouter } from './router.js';

export interface Route53RouterOptions {
  profile: AwsProfile;
  hostedZoneId: string;
  recordName: string;
  ttlSeconds: number;
}

export class Route53Router implements TrafficRouter {
  readonly kind = 'route53' as const;
  readonly capabilities = ROUTER_CAPABILITIES.route53;
  private readonly client: Route53Client;
  private readonly name: string;

  constructor(private readonly options: Route53RouterOptions) {
    const { profile } = options;
    this.client = new Route53Client({
      region: profile.region,
      endpoint: profile.endpoint,
      credentials: profile.credentialsFile ? readCredentialsFile(profile.credentialsFile) : undefined,
      maxAttempts: 3,
    });
    this.name = fqdn(options.recordName);
  }

  async ensure(migration: string, backends: RouteBackends): Promise<RouterInfo> {
    const current = await this.read(migration);
    const route: Route = current
      ? { ...current, source: backends.source, target: backends.target }
      : { revision: 0, source: backends.source, target: backends.target, targetPercent: 0, mirror: false, updatedAt: new Date().toISOString() };
    if (!current || current.source !== backends.source || current.target !== backends.target) await this.write(migration, route);
    return { url: this.url(backends), route };
  }

  async setWeights(migration: string, change: { revision: number; targetPercent: number; mirror: boolean }): Promise<{ route: Route; applied: boolean }> {
    checkCapabilities(this, change);
    const current = await this.read(migration);
    if (!current) throw new Error(`no Route 53 records for ${migration} under ${this.name} in zone ${this.options.hostedZoneId}; ensure the route first`);
    if (change.revision <= current.revision) return { route: current, applied: false };
    const route: Route = { ...current, revision: change.revision, targetPercent: change.targetPercent, mirror: false, updatedAt: new Date().toISOString() };
    await this.write(migration, route);
    return { route, applied: true };
  }

  async readWeights(migration: string): Promise<Route> {
    const route = await this.read(migration);
    if (!route) throw new Error(`no Route 53 records for ${migration} under ${this.name} in zone ${this.options.hostedZoneId}`);
    return route;
  }

  async scrapeTargets(): Promise<ScrapeTarget[]> {
    return [];
  }

  async release(): Promise<void> {
    // The records are the traffic: they stay as the last change left them.
  }

  private url(backends: RouteBackends): string {
    const ports = new Set([new URL(backends.source).port, new URL(backends.target).port]);
    const port = ports.size === 1 ? [...ports][0] : '';
    return `http://${this.name.replace(/\.$/, '')}${port ? `:${port}` : ''}`;
  }

  private setId(migration: string, side: 'source' | 'target'): string {
    return `cloudshift-${migration}-${side}`;
  }

  private revisionName(): string {
    return `_cloudshift.${this.name}`;
  }

  /** The route as Route 53 holds it: weights from the weighted records, the rest from the TXT record. */
  private async read(migration: string): Promise<Route | undefined> {
    const sets = await this.list();
    const weight = (side: 'source' | 'target') => sets.find((s) => s.Name === this.name && s.SetIdentifier === this.setId(migration, side))?.Weight;
    const txt = sets.find((s) => s.Name === this.revisionName() && s.Type === 'TXT' && s.SetIdentifier === migration);
    const [source, target] = [weight('source'), weight('target')];
    if (source === undefined || target === undefined || !txt) return undefined;
    const recorded = parseRevision(txt.ResourceRecords?.[0]?.Value);
    if (!recorded) return undefined;
    return { ...recorded, targetPercent: source + target === 0 ? 0 : Math.round((100 * target) / (source + target)) };
  }

  /** The record sets under the migration's two names (the weighted records, the revision's TXT). */
  private async list(): Promise<ResourceRecordSet[]> {
    return [...(await this.listName(this.name)), ...(await this.listName(this.revisionName()))];
  }

  /** Record sets named `name`: listed from it, in Route 53's order, until another name comes. */
  private async listName(name: string): Promise<ResourceRecordSet[]> {
    const found: ResourceRecordSet[] = [];
    let start: { name?: string; type?: string; id?: string } = { name };
    for (;;) {
      const page = await this.client.send(
        new ListResourceRecordSetsCommand({ HostedZoneId: this.options.hostedZoneId, StartRecordName: start.name, StartRecordType: start.type as 'A', StartRecordIdentifier: start.id }),
      );
      const sets = (page.ResourceRecordSets ?? []).map((s) => ({ ...s, Name: fqdn(s.Name ?? '') }));
      found.push(...sets.filter((s) => s.Name === name));
      if (!page.IsTruncated || sets.some((s) => s.Name !== name) || fqdn(page.NextRecordName ?? '') !== name) return found;
      start = { name: page.NextRecordName, type: page.NextRecordType, id: page.NextRecordIdentifier };
    }
  }

  private async write(migration: string, route: Route): Promise<void> {
    const target = Math.round(route.targetPercent);
    const record = (side: 'source' | 'target', weight: number): ResourceRecordSet => {
      const host = new URL(route[side]).hostname;
      const ip = isIP(host) === 4;
      return {
        Name: this.name,
        Type: ip ? 'A' : 'CNAME',
        SetIdentifier: this.setId(migration, side),
        Weight: weight,
        TTL: this.options.ttlSeconds,
        ResourceRecords: [{ Value: ip ? host : fqdn(host) }],
      };
    };
    // A TXT record holds strings of at most 255 characters: one per field.
    const fields = [`revision=${route.revision}`, `updatedAt=${route.updatedAt}`, `source=${route.source}`, `target=${route.target}`];
    const txtValue = fields.map((f) => JSON.stringify(f.slice(0, 255))).join(' ');
    await this.client.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: this.options.hostedZoneId,
        ChangeBatch: {
          Comment: `cloudshift ${migration}: ${target} % on the target (revision ${route.revision})`,
          Changes: [
            { Action: 'UPSERT', ResourceRecordSet: record('source', 100 - target) },
            { Action: 'UPSERT', ResourceRecordSet: record('target', target) },
            {
              Action: 'UPSERT',
              ResourceRecordSet: { Name: this.revisionName(), Type: 'TXT', SetIdentifier: migration, Weight: 0, TTL: 60, ResourceRecords: [{ Value: txtValue }] },
            },
          ],
        },
      }),
    );
  }
}

const fqdn = (name: string) => (name.endsWith('.') ? name : `${name}.`).toLowerCase();

/** The TXT record's strings, `"revision=3" "updatedAt=…" "source=…" "target=…"`, as a route without weights. */
function parseRevision(value: string | undefined): Omit<Route, 'targetPercent'> | undefined {
  if (!value) return undefined;
  const fields = new Map<string, string>();
  for (const match of value.matchAll(/"((?:[^"\\]|\\.)*)"/g)) {
    const text = match[1]!.replace(/\\(.)/g, '$1');
    const at = text.indexOf('=');
    if (at > 0) fields.set(text.slice(0, at), text.slice(at + 1));
  }
  const revision = Number(fields.get('revision'));
  if (!Number.isInteger(revision) || revision < 0) return undefined;
  return { revision, mirror: false, source: fields.get('source') ?? '', target: fields.get('target') ?? '', updatedAt: fields.get('updatedAt') ?? '' };
}
