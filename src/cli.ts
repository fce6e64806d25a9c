/**
 * The `cloudshift` command. Spec files may be JSON or YAML. Exit codes: 0 done, 1 the migration
 * failed or rolled back, 2 bad usage or a bad spec, 3 something could not be reached.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { InvalidMigrationSpecError, MigrationClient } from './client/index.js';
import { loadConfig } from './config.js';
import { CLOUDS, type Cloud, formatSpecIssues, parseSpec } from './spec.js';

const USAGE = `usage: cloudshift <command> [options]
  validate --spec FILE [--json]     check a spec without starting anything
  audit --spec FILE [--json]        the audit alone (exit 1 when it has blocking findings)
  start --spec FILE [--wait]        start a migration (id = the spec's name)
  status ID [--json]                phase, progress and decisions of a migration
  worker [--queues LIST]            run a worker (control,aws,gcp,azure,onprem or all)
  dev                               start the local stack and a worker serving every queue
  demo [--source C] [--target C]    the demo migration on the local stack (default aws → gcp)`;

function readSpecFile(path: string | undefined): unknown {
  if (!path) throw new UsageError('--spec FILE is required');
  const text = readFileSync(path, 'utf8');
  return /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text);
}

class UsageError extends Error {}

const cloudOption = (value: string | undefined, fallback: Cloud): Cloud => {
  if (value === undefined) return fallback;
  if (!(CLOUDS as readonly string[]).includes(value)) throw new UsageError(`expected one of ${CLOUDS.join(', ')}, got "${value}"`);
  return value as Cloud;
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      spec: { type: 'string' },
      json: { type: 'boolean', default: false },
      wait: { type: 'boolean', default: false },
      queues: { type: 'string' },
      source: { type: 'string' },
      target: { type: 'string' },
      objects: { type: 'string' },
    },
  });
  switch (command) {
    case 'validate': {
      const parsed = parseSpec(readSpecFile(values.spec));
      if (values.json) console.log(JSON.stringify(parsed.ok ? { ok: true, spec: parsed.spec } : parsed, null, 2));
      else console.log(parsed.ok ? `${values.spec}: valid migration spec "${parsed.spec.name}"` : formatSpecIssues(parsed.issues));
      return parsed.ok ? 0 : 2;
    }
    case 'audit': {
      const parsed = parseSpec(readSpecFile(values.spec));
      if (!parsed.ok) throw new InvalidMigrationSpecError(parsed.issues);
      const [{ runAudit }, { loadPriceTable }, { renderAuditReport }, { StoreResolver }] = await Promise.all([
        import('./audit/run.js'),
        import('./activities/audit.js'),
        import('./audit/report.js'),
        import('./clouds/profiles.js'),
      ]);
      const report = await runAudit(parsed.spec, new StoreResolver(loadConfig().profiles), loadPriceTable());
      console.log(values.json ? JSON.stringify(report, null, 2) : renderAuditReport(report));
      return report.blocking.length > 0 ? 1 : 0;
    }
    case 'start': {
      const config = loadConfig();
      const client = await MigrationClient.connect(config.temporal.address, config.temporal.namespace);
      try {
        const { workflowId, runId } = await client.startMigration(readSpecFile(values.spec) as never);
        console.log(values.json ? JSON.stringify({ workflowId, runId }) : `started ${workflowId} (run ${runId})`);
        if (!values.wait) return 0;
        const result = await client.waitForResult(workflowId);
        console.log(JSON.stringify(result, null, 2));
        return result.outcome === 'completed' ? 0 : 1;
      } finally {
        await client.close();
      }
    }
    case 'status': {
      const id = positionals[0];
      if (!id) throw new UsageError('status needs a migration id');
      const config = loadConfig();
      const client = await MigrationClient.connect(config.temporal.address, config.temporal.namespace);
      try {
        const status = await client.getStatus(id);
        if (values.json) console.log(JSON.stringify(status, null, 2));
        else {
          console.log(`${status.name}: ${status.source.cloud} → ${status.target.cloud}, phase ${status.phase} (${status.state})`);
          for (const p of status.phases) console.log(`  ${p.phase.padEnd(14)} ${p.state.padEnd(10)} ${p.detail ?? ''}`);
          if (status.pendingGate) console.log(`waiting since ${status.pendingGate.since}: ${status.pendingGate.waitingFor}`);
          for (const d of status.decisions) {
            console.log(`  ${d.at} ${d.action} by ${d.by}${d.phase ? ` (${d.phase})` : ''}${d.comment ? `: ${d.comment}` : ''}${d.applied ? '' : ` [${d.note}]`}`);
          }
          if (status.audit) console.log(`\n${(await import('./audit/report.js')).renderAuditReport(status.audit)}`);
        }
        return 0;
      } finally {
        await client.close();
      }
    }
    case 'worker': {
      const { runWorker } = await import('./worker.js');
      await runWorker(values.queues ? ['--queues', values.queues] : []);
      return 0;
    }
    case 'dev': {
      const { ensureStack } = await import('./dev/local-stack.js');
      await ensureStack({ log: (line) => console.log(`[stack] ${line}`) });
      const { runWorker } = await import('./worker.js');
      await runWorker(['--queues', 'all']);
      return 0;
    }
    case 'demo': {
      const { runDemo } = await import('./dev/demo.js');
      return runDemo({
        source: cloudOption(values.source, 'aws'),
        target: cloudOption(values.target, 'gcp'),
        objects: values.objects ? Number(values.objects) : undefined,
      });
    }
    default:
      throw new UsageError(command ? `unknown command "${command}"` : 'no command given');
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`cloudshift: ${error.message}\n${USAGE}`);
      process.exit(2);
    }
    if (error instanceof InvalidMigrationSpecError) {
      console.error(error.message);
      process.exit(2);
    }
    console.error(`cloudshift: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(3);
  },
);
