/**
 * The `cloudshift` command. Spec files may be JSON or YAML. Exit codes: 0 done, 1 the migration
 * failed, 2 bad usage or a bad spec, 3 something could not be reached, 4 the migration rolled back.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { DecisionRejectedError, InvalidMigrationSpecError, MigrationClient, MissingSearchAttributesError, type MigrationResult, type Progress } from './client/index.js';
import type { DecisionReply } from './workflows/definitions.js';
import { gateLines, progressLine, resultLines } from './client/progress.js';
import { failureMessage } from './format.js';
import { loadConfig } from './config.js';
import { CLOUDS, type Cloud, formatSpecIssues, parseSpec } from './spec.js';
import { parseSpecText, SpecFileError } from './spec-file.js';

const USAGE = `usage: cloudshift <command> [options]
  validate --spec FILE [--json]     check a spec without starting anything
  audit --spec FILE [--json]        the audit alone (exit 1 when it has blocking findings)
  start --spec FILE [--wait]        start a migration (id = the spec's name); --wait follows it
  status ID [--json] [--follow]     phase, progress and decisions; --follow until it ends
  approve ID [--phase P] [--comment C] [--by NAME]
                                    approve the gate waiting (only if it is phase P, when given)
  rollback ID --reason TEXT [--by NAME]
                                    roll back (refused once teardown has begun)
  list [--phase P] [--json]         migrations, newest first (P: a phase, awaitingApproval, …)
  worker [--queues LIST]            run a worker (control,aws,gcp,azure,onprem or all)
  dev                               start the local stack and a worker serving every queue
  demo [--source C] [--target C] [--wait-for-approval]
                                    the demo migration on the local stack (default aws → gcp)
The operator's name (--by) defaults to the OS user. Exit codes: 0 completed, 1 failed, 2 usage or
spec, 3 unreachable, 4 rolled back.`;

const EXIT = { completed: 0, failed: 1, usage: 2, unreachable: 3, rolledBack: 4 } as const;

const operator = (by: string | undefined) => by ?? userInfo().username;

/** Follows a migration to its end: live lines on a terminal, a line per change otherwise. */
async function follow(client: MigrationClient, id: string, json: boolean): Promise<number> {
  let last = '';
  const live = process.stdout.isTTY && !json;
  const onProgress = (progress: Progress) => {
    const line = json ? JSON.stringify(progress) : progressLine(progress);
    if (line === last) return;
    last = line;
    if (live) process.stdout.write(`\r\x1b[2K${line.slice(0, (process.stdout.columns || 120) - 1)}`);
    else console.log(line);
  };
  let result: MigrationResult;
  try {
    result = await client.followMigration(id, onProgress);
  } catch (error) {
    if (live) process.stdout.write('\n');
    if (error instanceof WorkflowFailedError) {
      // Past "Workflow execution failed": the causes say which step and why.
      console.error(`${id} failed: ${failureMessage(error.cause ?? error)}`);
      return EXIT.failed;
    }
    throw error;
  }
  if (live) process.stdout.write('\n');
  console.log(json ? JSON.stringify(result) : resultLines(result.status).join('\n'));
  return result.outcome === 'completed' ? EXIT.completed : EXIT.rolledBack;
}

function needId(positionals: string[], command: string): string {
  const id = positionals[0];
  if (!id) throw new UsageError(`${command} needs a migration id`);
  return id;
}

async function withClient<T>(work: (client: MigrationClient) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const client = await MigrationClient.connect(config.temporal.address, config.temporal.namespace);
  try {
    return await work(client);
  } finally {
    await client.close();
  }
}

/** Prints the migration's answer to a decision; a refusal exits 2 with its reason. */
async function answer(json: boolean, decide: () => Promise<DecisionReply>, what: string): Promise<number> {
  try {
    const reply = await decide();
    console.log(json ? JSON.stringify({ accepted: true, ...reply }) : `${what} accepted: ${reply.message}`);
    return EXIT.completed;
  } catch (error) {
    if (!(error instanceof DecisionRejectedError)) throw error;
    if (json) console.log(JSON.stringify({ accepted: false, reason: error.message }));
    console.error(`${what} rejected: ${error.message}`);
    return EXIT.usage;
  }
}


function readSpecFile(path: string | undefined): unknown {
  if (!path) throw new UsageError('--spec FILE is required');
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new UsageError(`cannot read the spec file ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  return parseSpecText(bytes, path);
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
      follow: { type: 'boolean', default: false },
      phase: { type: 'string' },
      comment: { type: 'string' },
      reason: { type: 'string' },
      by: { type: 'string' },
      queues: { type: 'string' },
      source: { type: 'string' },
      target: { type: 'string' },
      objects: { type: 'string' },
      'wait-for-approval': { type: 'boolean', default: false },
    },
  });
  switch (command) {
    case 'validate': {
      const parsed = parseSpec(readSpecFile(values.spec));
      if (values.json) console.log(JSON.stringify(parsed.ok ? { ok: true, spec: parsed.spec } : parsed, null, 2));
      else console.log(parsed.ok ? `${values.spec}: valid migration spec "${parsed.spec.name}"` : formatSpecIssues(parsed.issues));
      return parsed.ok ? EXIT.completed : EXIT.usage;
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
      const spec = readSpecFile(values.spec);
      return withClient(async (client) => {
        const { workflowId, runId, attached } = await client.startMigration(spec as never);
        const said = attached ? `attached to ${workflowId} (run ${runId}), already running: a start with the same name starts nothing` : `started ${workflowId} (run ${runId})`;
        console.log(values.json ? JSON.stringify({ workflowId, runId, attached }) : said);
        return values.wait ? follow(client, workflowId, values.json) : EXIT.completed;
      });
    }
    case 'status': {
      const id = needId(positionals, 'status');
      return withClient(async (client) => {
        if (values.follow) return follow(client, id, values.json);
        const status = await client.getStatus(id);
        if (values.json) console.log(JSON.stringify(status, null, 2));
        else {
          console.log(resultLines(status).join('\n'));
          const live = status.copy?.progress ? status.teardown?.catchUp?.live : status.copy?.live;
          if (live) console.log(progressLine({ status, copy: live }));
          if (status.pendingGate) console.log(`since ${status.pendingGate.since}, ${gateLines(status).join('\n')}`);
          if (status.audit) console.log(`\n${(await import('./audit/report.js')).renderAuditReport(status.audit)}`);
        }
        return EXIT.completed;
      });
    }
    case 'approve': {
      const id = needId(positionals, 'approve');
      return withClient(async (client) => {
        const approval = { by: operator(values.by), ...(values.phase ? { phase: values.phase } : {}), ...(values.comment ? { comment: values.comment } : {}) };
        return answer(values.json, () => client.approve(id, approval), `approve of ${id} by ${approval.by}`);
      });
    }
    case 'rollback': {
      const id = needId(positionals, 'rollback');
      if (!values.reason) throw new UsageError('rollback needs --reason TEXT: the decision log keeps why');
      const reason = values.reason;
      return withClient(async (client) => {
        return answer(values.json, () => client.rollback(id, { by: operator(values.by), reason }), `rollback of ${id} by ${operator(values.by)}`);
      });
    }
    case 'list': {
      return withClient(async (client) => {
        const migrations = await client.list({ phase: values.phase });
        if (values.json) console.log(JSON.stringify(migrations, null, 2));
        else for (const m of migrations) console.log(`${m.workflowId.padEnd(48)} ${m.execution.padEnd(10)} ${(m.phase ?? '').padEnd(17)} ${m.source ?? '?'} → ${m.target ?? '?'}  ${m.startTime}`);
        return EXIT.completed;
      });
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
        waitForApproval: values['wait-for-approval'],
      });
    }
    default:
      throw new UsageError(command ? `unknown command "${command}"` : 'no command given');
  }
}

// A reader that goes away (`cloudshift list | head`) is not an error: stop writing, exit cleanly.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`cloudshift: ${error.message}\n${USAGE}`);
      process.exit(EXIT.usage);
    }
    if (error instanceof SpecFileError || error instanceof MissingSearchAttributesError) {
      console.error(`cloudshift: ${error.message}`);
      process.exit(EXIT.usage);
    }
    if (error instanceof InvalidMigrationSpecError) {
      console.error(error.message);
      process.exit(EXIT.usage);
    }
    console.error(`cloudshift: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(EXIT.unreachable);
  },
);
