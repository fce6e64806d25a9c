/**
 * The `cloudshift` command. Spec files may be JSON or YAML. Exit codes: 0 done, 1 the migration
 * failed, 2 bad usage or a bad spec, 3 something could not be reached, 4 the migration rolled back.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { X509Certificate } from 'node:crypto';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { DecisionRejectedError, InvalidMigrationSpecError, MigrationClient, MigrationNameTakenError, MissingSearchAttributesError, type MigrationResult, type Progress } from './client/index.js';
import type { DecisionReply } from './workflows/definitions.js';
import { gateLines, progressLine, resultLines } from './client/progress.js';
import { LiveView } from './client/live-view.js';
import { failureMessage, forTerminal } from './format.js';
import { NonRetryableError } from './errors.js';
import { loadConfig } from './config.js';
import { CLOUDS, type Cloud, formatSpecIssues, parseSpec, type StorageLocation } from './spec.js';
import { parseSpecText, SpecFileError } from './spec-file.js';

const EXIT = { completed: 0, failed: 1, usage: 2, unreachable: 3, rolledBack: 4, notFound: 5 } as const;

/** The CLI's only ways to print a line: what a migration's fields hold is shown, never obeyed (forTerminal). */
const say = (...parts: unknown[]) => console.log(forTerminal(parts.map(String).join(' ')));
const sayError = (...parts: unknown[]) => console.error(forTerminal(parts.map(String).join(' ')));

const operator = (by: string | undefined) => by ?? userInfo().username;

/** Follows a migration to its end: live lines on a terminal, a line per change otherwise. */
async function follow(client: MigrationClient, id: string, json: boolean): Promise<number> {
  let last = '';
  const live = process.stdout.isTTY && !json;
  const view = new LiveView(process.stdout, () => process.stdout.columns || 120);
  const onProgress = (progress: Progress) => {
    const line = json ? JSON.stringify(progress) : progressLine(progress, serverOf().namespace);
    if (line === last) return;
    last = line;
    if (live) view.draw(forTerminal(line));
    else say(line);
  };
  let result: MigrationResult;
  try {
    result = await client.followMigration(id, onProgress);
  } catch (error) {
    if (live) view.end();
    if (error instanceof WorkflowFailedError) {
      // Past "Workflow execution failed": the causes say which step and why.
      sayError(`${id} failed: ${failureMessage(error.cause ?? error)}`);
      return EXIT.failed;
    }
    throw error;
  }
  if (live) view.end();
  say(json ? JSON.stringify(result) : resultLines(result.status).join('\n'));
  return result.outcome === 'completed' ? EXIT.completed : EXIT.rolledBack;
}

/** The Temporal server and namespace a command reaches: its --address and --namespace, else TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE. */
let server: { address?: string; namespace?: string } = {};
const serverOf = () => {
  const config = loadConfig();
  return { address: server.address ?? config.temporal.address, namespace: server.namespace ?? config.temporal.namespace };
};

async function withClient<T>(work: (client: MigrationClient) => Promise<T>): Promise<T> {
  const { address, namespace } = serverOf();
  const client = await MigrationClient.connect(address, namespace);
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
    say(json ? JSON.stringify({ accepted: true, ...reply }) : `${what} accepted: ${reply.message}`);
    return EXIT.completed;
  } catch (error) {
    if (!(error instanceof DecisionRejectedError)) throw error;
    if (json) say(JSON.stringify({ accepted: false, reason: error.message }));
    sayError(`${what} rejected: ${error.message}`);
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

function requireFolder(folder: string): void {
  if (!statSync(folder, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`${folder} is not a folder: name the artifact's folder`);
}

/** A key that cannot be found or read is the user's to fix: a usage error naming the file. */
function usageOnKeyError<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (error instanceof NonRetryableError && error.type === 'UnknownKey') throw new UsageError(error.message);
    throw error;
  }
}

/** Certificates from PEM files on the command line, in the order given; one that will not read is a usage error. */
async function certificatesFrom(files: string[]): Promise<X509Certificate[]> {
  const { readCertificates } = await import('./artifacts/certificate-chain.js');
  return files.flatMap((file) => {
    let pem: string;
    try {
      pem = readFileSync(file, 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read the certificate ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
    try {
      return readCertificates(pem, file);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  });
}

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** The spec's one required file, read as JSON or YAML. */
const specOption = () => new Option('-s, --spec <file>', 'the migration spec, JSON or YAML (required)');
const jsonOption = () => new Option('--json', 'print JSON instead of text');
const namespaceOption = () => new Option('-n, --namespace <name>', 'the Temporal namespace the migration runs in (default: TEMPORAL_NAMESPACE, else default)');
const addressOption = () => new Option('--address <host:port>', "Temporal's frontend (default: TEMPORAL_ADDRESS, else 127.0.0.1:7233)");

const examples = (...lines: string[]) => `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;

const positiveInteger = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a whole number above 0, got "${value}"`);
  return n;
};

const percent = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 100) throw new InvalidArgumentError(`expected a whole percentage 0-100, got "${value}"`);
  return n;
};

const cloudChoice = (flag: string, fallback: Cloud) => new Option(flag, 'a cloud').choices(CLOUDS).default(fallback);

/** Every command, each with its help and examples; an action returns the exit code. */
function program(exit: (code: number) => void): Command {
  const root = new Command('cloudshift')
    .description('Durable, verified, reversible migration of an ML workload between clouds, on Temporal.')
    .version(VERSION, '-V, --version')
    .showSuggestionAfterError(true)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`cloudshift: ${text.replace(/^error: /, '')}`) })
    .addHelpText(
      'after',
      `\nThe operator's name (--by) defaults to the OS user. Exit codes: 0 completed, 1 failed, 2 usage, spec or a refused decision, 3 unreachable, 4 rolled back, 5 no such migration in the namespace.\nServer: --address and --namespace, else TEMPORAL_ADDRESS (default 127.0.0.1:7233) and TEMPORAL_NAMESPACE (default default).\n` +
        examples('cloudshift validate --spec examples/aws-to-gcp.yaml', 'cloudshift start --spec examples/aws-to-gcp.yaml --wait', 'cloudshift approve aws-to-gcp-fraud --phase shadow', 'cloudshift report aws-to-gcp-fraud --out report.html'),
    );
  const run = async (work: () => Promise<number>) => exit(await work());
  // A command's --namespace and --address, read before its action runs (render's --namespace is Kubernetes's, not declared here).
  root.hook('preAction', (_root, command) => {
    const opts = command.opts<{ namespace?: string; address?: string }>();
    server = command.options.some((o) => o.long === '--address') ? { ...(opts.namespace ? { namespace: opts.namespace } : {}), ...(opts.address ? { address: opts.address } : {}) } : {};
  });

  root
    .command('validate')
    .description('check a spec without starting anything (exit 2 when it is invalid, naming each field)')
    .addOption(specOption())
    .addOption(jsonOption())
    .addHelpText('after', examples('cloudshift validate --spec examples/gcp-to-azure.yaml'))
    .action((opts: { spec: string; json?: boolean }) =>
      run(async () => {
        const parsed = parseSpec(readSpecFile(opts.spec));
        if (opts.json) say(JSON.stringify(parsed.ok ? { ok: true, spec: parsed.spec } : parsed, null, 2));
        else say(parsed.ok ? `${opts.spec}: valid migration spec "${parsed.spec.name}"` : formatSpecIssues(parsed.issues));
        return parsed.ok ? EXIT.completed : EXIT.usage;
      }),
    );

  root
    .command('audit')
    .description('the pre-flight (what the migration would fail or block on) and the audit: dependencies, inventory through the filters, egress and copy-time estimates (exit 1 on any problem or blocking finding)')
    .addOption(specOption())
    .addOption(jsonOption())
    .addHelpText('after', examples('cloudshift audit --spec examples/aws-to-gcp.yaml', 'cloudshift audit --spec examples/aws-to-gcp.yaml --json | jq .egress'))
    .action((opts: { spec: string; json?: boolean }) =>
      run(async () => {
        const parsed = parseSpec(readSpecFile(opts.spec));
        if (!parsed.ok) throw new InvalidMigrationSpecError(parsed.issues);
        const [{ runAudit }, { loadPriceTable }, { renderAuditReport }, { StoreResolver }] = await Promise.all([
          import('./audit/run.js'),
          import('./activities/audit.js'),
          import('./audit/report.js'),
          import('./clouds/profiles.js'),
        ]);
        const config = loadConfig();
        const stores = new StoreResolver(config.profiles);
        const { preflightSource, preflightTarget, preflightProblems, renderPreflight, artifactCheckOutcome } = await import('./audit/preflight.js');
        // What the migration would fail or block on, before the estimates: the same checks its first activity runs.
        const checks = [...(await preflightSource(parsed.spec, stores)), ...(await preflightTarget(parsed.spec, stores))];
        const artifact = parsed.spec.workload?.artifact;
        if (artifact?.policy) {
          // The keys and roots the policy trusts, read as the worker will: one missing fails the migration, signed or not.
          const { trustFor } = await import('./artifacts/keys.js');
          try {
            trustFor(config.keysDir, artifact.policy);
            checks.push({ field: 'workload.artifact.policy', check: 'keys and roots', outcome: 'ok', detail: `found in ${config.keysDir}` });
          } catch (error) {
            checks.push({ field: 'workload.artifact.policy', check: 'keys and roots', outcome: 'failed', detail: error instanceof Error ? error.message : String(error) });
          }
        }
        if (artifact) {
          const { createArtifactActivities } = await import('./activities/artifacts.js');
          try {
            checks.push(artifactCheckOutcome(await createArtifactActivities({ stores, keysDir: config.keysDir }).checkSourceArtifact({ location: parsed.spec.source, artifact })));
          } catch (error) {
            checks.push({ field: 'workload.artifact', check: 'signature', outcome: 'failed', detail: `${error instanceof Error ? error.message : String(error)} (keys and roots are read from ${config.keysDir}, CLOUDSHIFT_KEYS_DIR)` });
          }
        }
        const sourceReadable = !checks.some((c) => c.field === 'source' && c.outcome === 'failed');
        const report = sourceReadable ? await runAudit(parsed.spec, stores, loadPriceTable()) : undefined;
        if (opts.json) say(JSON.stringify({ preflight: checks, ...(report ? { audit: report } : {}) }, null, 2));
        else say([renderPreflight(checks), ...(report ? ['', renderAuditReport(report)] : [])].join('\n'));
        return preflightProblems(checks).length > 0 || (report?.blocking.length ?? 0) > 0 ? EXIT.failed : EXIT.completed;
      }),
    );

  root
    .command('start')
    .description("start a migration (its id is the spec's name); a second start of the same spec while it runs attaches to it")
    .addOption(namespaceOption())
    .addOption(addressOption())
    .addOption(specOption())
    .option('-w, --wait', 'follow it to its end, printing progress, gates and the final summary')
    .option('--rerun', 'start a new run under a name whose earlier run has ended (it still refuses a target folder that run claimed)')
    .addOption(jsonOption())
    .addHelpText('after', examples('cloudshift start --spec examples/aws-to-gcp.yaml', 'cloudshift start --spec examples/data-only-s3-to-gcs.yaml --wait'))
    .action((opts: { spec: string; wait?: boolean; json?: boolean; rerun?: boolean }) =>
      run(async () => {
        const spec = readSpecFile(opts.spec);
        return withClient(async (client) => {
          const { workflowId, runId, attached } = await client.startMigration(spec as never, { rerun: Boolean(opts.rerun) });
          const said = attached ? `attached to ${workflowId} (run ${runId}), already running: a start with the same name starts nothing` : `started ${workflowId} (run ${runId})`;
          say(opts.json ? JSON.stringify({ workflowId, runId, attached }) : said);
          return opts.wait ? follow(client, workflowId, Boolean(opts.json)) : EXIT.completed;
        });
      }),
    );

  root
    .command('status')
    .description('phase, progress, the gate waiting and how to answer it, decisions')
    .addOption(namespaceOption())
    .addOption(addressOption())
    .argument('<id>', 'the migration (its spec name)')
    .option('-f, --follow', 'follow it until it ends')
    .addOption(jsonOption())
    .addHelpText('after', examples('cloudshift status aws-to-gcp-fraud', 'cloudshift status aws-to-gcp-fraud --follow', 'cloudshift status aws-to-gcp-fraud --json | jq .phase'))
    .action((id: string, opts: { follow?: boolean; json?: boolean }) =>
      run(async () =>
        withClient(async (client) => {
          if (opts.follow) return follow(client, id, Boolean(opts.json));
          const status = await client.getStatus(id);
          if (opts.json) say(JSON.stringify(status, null, 2));
          else {
            say(resultLines(status).join('\n'));
            const live = status.copy?.progress ? status.teardown?.catchUp?.live : status.copy?.live;
            if (live) say(progressLine({ status, copy: live }));
            if (status.pendingGate) say(`since ${status.pendingGate.since}, ${gateLines(status, serverOf().namespace).join('\n')}`);
            if (status.report) say(`report: ${status.report.html} (cloudshift report ${id} --out ${id}.html)`);
            if (status.audit) say(`\n${(await import('./audit/report.js')).renderAuditReport(status.audit)}`);
          }
          return EXIT.completed;
        }),
      ),
    );

  root
    .command('approve')
    .description('approve the gate waiting; prints what the migration did, or why it refused (exit 2)')
    .addOption(namespaceOption())
    .addOption(addressOption())
    .argument('<id>', 'the migration')
    .option('-p, --phase <phase>', 'approve only if this phase is the one waiting (shadow, canary, teardown, …)')
    .option('-c, --comment <text>', 'kept in the decision log')
    .option('--by <name>', 'who approves (default: the OS user)')
    .addOption(jsonOption())
    .addHelpText('after', examples('cloudshift approve aws-to-gcp-fraud --phase shadow --comment "report reviewed"'))
    .action((id: string, opts: { phase?: string; comment?: string; by?: string; json?: boolean }) =>
      run(async () =>
        withClient(async (client) => {
          const approval = { by: operator(opts.by), ...(opts.phase ? { phase: opts.phase } : {}), ...(opts.comment ? { comment: opts.comment } : {}) };
          return answer(Boolean(opts.json), () => client.approve(id, approval), `approve of ${id} by ${approval.by}`);
        }),
      ),
    );

  root
    .command('rollback')
    .description('roll back: traffic to the source, the target cleaned up as the spec says (refused once teardown has begun)')
    .addOption(namespaceOption())
    .addOption(addressOption())
    .argument('<id>', 'the migration')
    .option('-r, --reason <text>', 'why (required: the decision log keeps it)')
    .option('--by <name>', 'who rolls back (default: the OS user)')
    .addOption(jsonOption())
    .addHelpText('after', examples('cloudshift rollback aws-to-gcp-fraud --reason "p99 regression on the target"'))
    .action((id: string, opts: { reason?: string; by?: string; json?: boolean }) =>
      run(async () => {
        const reason = opts.reason?.trim();
        if (!reason) throw new UsageError('rollback needs --reason TEXT: the decision log keeps why');
        return withClient((client) => answer(Boolean(opts.json), () => client.rollback(id, { by: operator(opts.by), reason }), `rollback of ${id} by ${operator(opts.by)}`));
      }),
    );

  root
    .command('list')
    .description('migrations, newest first')
    .addOption(namespaceOption())
    .addOption(addressOption())
    .option('-p, --phase <phase>', 'only those in this phase (a phase, awaitingApproval, completed, rolledBack, failed)')
    .addOption(jsonOption())
    .addHelpText('after', examples('cloudshift list --phase awaitingApproval', 'cloudshift list | head -5'))
    .action((opts: { phase?: string; json?: boolean }) =>
      run(async () =>
        withClient(async (client) => {
          const migrations = await client.list({ phase: opts.phase });
          if (opts.json) say(JSON.stringify(migrations, null, 2));
          else for (const m of migrations) say(`${m.workflowId.padEnd(48)} ${m.execution.padEnd(10)} ${(m.phase ?? '').padEnd(17)} ${m.source ?? '?'} → ${m.target ?? '?'}  ${m.startTime}`);
          return EXIT.completed;
        }),
      ),
    );

  root
    .command('report')
    .description("the migration's report (HTML, or --json): fetched from the target cloud where the migration wrote it, or built from where a running one stands")
    .addOption(namespaceOption())
    .addOption(addressOption())
    .argument('<id>', 'the migration')
    .option('-o, --out <file>', 'write it to this file instead of standard output')
    .addOption(jsonOption())
    .addHelpText('after', examples('cloudshift report aws-to-gcp-fraud --out report.html', 'cloudshift report aws-to-gcp-fraud --json | jq .canary'))
    .action((id: string, opts: { out?: string; json?: boolean }) =>
      run(async () =>
        withClient(async (client) => {
          const { fetchReport } = await import('./client/report.js');
          const status = await client.getStatus(id);
          const fetched = await fetchReport(status, opts.json ? 'json' : 'html');
          if (fetched.note) sayError(`cloudshift: ${fetched.note}`);
          if (opts.out) {
            try {
              writeFileSync(opts.out, fetched.bytes);
            } catch (error) {
              throw new UsageError(`cannot write ${opts.out}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
            }
            sayError(`cloudshift: wrote ${opts.out} (${fetched.bytes.length.toLocaleString('en')} bytes, ${fetched.from})`);
          } else process.stdout.write(fetched.bytes);
          return EXIT.completed;
        }),
      ),
    );

  const keysHelp = `Keys are named: NAME is NAME.pem (private), NAME.pub (public) and NAME.crt (a trusted root certificate) in the keys folder, CLOUDSHIFT_KEYS_DIR (default .stack/keys).`;
  root
    .command('keygen')
    .description('make an ECDSA P-256 key pair for signing model artifacts, under a name in the keys folder')
    .argument('<name>', 'the key\'s name, as a spec\'s artifact.policy.keys names it')
    .addHelpText('after', `\n${keysHelp}\n${examples('cloudshift keygen release-2026')}`)
    .action((name: string) =>
      run(async () => {
        const { generateKeyPair } = await import('./artifacts/keys.js');
        const files = usageOnKeyError(() => generateKeyPair(loadConfig().keysDir, name));
        say(`private key ${files.privateKey} (keep it secret; sign with --key ${name})\npublic key  ${files.publicKey} (give it to every worker that verifies)`);
        return EXIT.completed;
      }),
    );

  root
    .command('sign')
    .description('sign a model folder in the OpenSSF model-signing format (a Sigstore bundle listing every file\'s SHA-256)')
    .argument('<folder>', 'the artifact: the model and the files it travels with')
    .option('-k, --key <name>', 'a private key in the keys folder')
    .option('--private-key <file>', 'a PEM private key file (EC P-256, P-384 or P-521)')
    .option('--certificate <file>', 'sign in certificate mode: the PEM signing certificate for this key, optionally followed by its chain')
    .option('--chain <file...>', 'PEM certificates above the signing certificate (intermediates, root)')
    .option('--signature <file>', 'where to write the bundle (default <folder>/model.sig, which is then not itself signed)')
    .addHelpText('after', `\n${keysHelp}\n${examples('cloudshift sign ./model --key release-2026', 'cloudshift sign ./model --private-key key.pem --signature model.sig', 'cloudshift sign ./model --key release-2026 --certificate release.crt --chain corp-ca.crt')}`)
    .action((folder: string, opts: { key?: string; privateKey?: string; certificate?: string; chain?: string[]; signature?: string }) =>
      run(async () => {
        const { privateKeyAt, privateKeyFile } = await import('./artifacts/keys.js');
        const { signFolder, defaultSignaturePath } = await import('./artifacts/folder-signing.js');
        if (Boolean(opts.key) === Boolean(opts.privateKey)) throw new UsageError('give exactly one of --key NAME or --private-key FILE');
        if (opts.chain && !opts.certificate) throw new UsageError('--chain goes with --certificate (the signing certificate it leads up from)');
        requireFolder(folder);
        const key = usageOnKeyError(() => privateKeyAt(opts.privateKey ?? privateKeyFile(loadConfig().keysDir, opts.key!)));
        const certificates = opts.certificate ? await certificatesFrom([opts.certificate, ...(opts.chain ?? [])]) : [];
        const signature = opts.signature ?? defaultSignaturePath(folder);
        const files = await signFolder(folder, key, signature, certificates);
        say(`signed ${files.length} files of ${folder} → ${signature}${certificates.length ? ` (certificate ${certificates[0]!.subject.replace(/\n/g, ', ')})` : ''}`);
        return EXIT.completed;
      }),
    );

  root
    .command('verify')
    .description('check a model folder against its signature: a trusted signer, and every file as signed, none missing or added (exit 1 when refused)')
    .argument('<folder>', 'the artifact folder')
    .option('-k, --key <name...>', 'trusted public keys in the keys folder')
    .option('--public-key <file...>', 'trusted PEM public key files')
    .option('--root <name...>', 'trusted root certificates in the keys folder (NAME.crt)')
    .option('--root-certificate <file...>', 'trusted PEM root certificate files')
    .option('--identity <id...>', 'accept certificates only for these identities (email, URI, DNS name or common name)')
    .option('--signature <file>', 'the bundle (default <folder>/model.sig)')
    .addOption(jsonOption())
    .addHelpText('after', `\n${keysHelp}\n${examples('cloudshift verify ./model --key release-2026', 'cloudshift verify ./model --public-key key.pub --signature model.sig', 'cloudshift verify ./model --root corp-ca --identity ml-release@example.com')}`)
    .action((folder: string, opts: { key?: string[]; publicKey?: string[]; root?: string[]; rootCertificate?: string[]; identity?: string[]; signature?: string; json?: boolean }) =>
      run(async () => {
        const { publicKeyAt, rootsAt, trustedKeys, trustedRoots } = await import('./artifacts/keys.js');
        const { verifyFolder, defaultSignaturePath } = await import('./artifacts/folder-signing.js');
        const byRoot = Boolean(opts.root?.length || opts.rootCertificate?.length);
        if (!opts.key?.length && !opts.publicKey?.length && !byRoot) throw new UsageError('name whose signature counts: --key NAME, --public-key FILE, --root NAME or --root-certificate FILE');
        if (opts.identity && !byRoot) throw new UsageError('--identity goes with --root or --root-certificate (the roots that issue the certificates)');
        requireFolder(folder);
        const keysDir = loadConfig().keysDir;
        const trusted = usageOnKeyError(() => ({
          keys: [...trustedKeys(keysDir, opts.key ?? []), ...(opts.publicKey ?? []).map((file) => ({ name: file, key: publicKeyAt(file) }))],
          ...(byRoot ? { certificates: { roots: [...trustedRoots(keysDir, opts.root ?? []), ...(opts.rootCertificate ?? []).flatMap((file) => rootsAt(file))], identities: opts.identity ?? [] } } : {}),
        }));
        const signature = opts.signature ?? defaultSignaturePath(folder);
        try {
          const verified = await verifyFolder(folder, trusted, signature);
          say(opts.json ? JSON.stringify({ verified: true, signer: verified.signer, keyHint: verified.keyHint, files: verified.files }) : `verified: ${verified.files.length} files of ${folder} as signed by ${verified.signer}`);
          return EXIT.completed;
        } catch (error) {
          const { ArtifactSignatureInvalid } = await import('./artifacts/signature-bundle.js');
          const { ArtifactDigestMismatch } = await import('./artifacts/artifact-files.js');
          if (!(error instanceof ArtifactSignatureInvalid || error instanceof ArtifactDigestMismatch)) throw error;
          if (opts.json) say(JSON.stringify({ verified: false, type: error.type, reason: error.message }));
          sayError(`cloudshift: refused (${error.type}): ${error.message}`);
          return EXIT.failed;
        }
      }),
    );

  root
    .command('serve')
    .description('serve one model from a bucket over HTTP until stopped (what a rendered Kubernetes Deployment runs)')
    .addOption(new Option('--cloud <cloud>', 'where the model lies').choices(CLOUDS).makeOptionMandatory())
    .requiredOption('--profile <name>', 'the connection profile (CLOUDSHIFT_PROFILES)')
    .requiredOption('--bucket <name>', 'the bucket or container')
    .requiredOption('--key <key>', 'the model object key')
    .option('--sha256 <hex>', 'refuse a model that does not hash to this')
    .option('--port <n>', 'the port', positiveInteger, 8080)
    .option('--host <address>', 'the address to listen on', '0.0.0.0')
    .addOption(new Option('--provider <ep>', 'execution provider').choices(['auto', 'cpu', 'cuda']).default('auto'))
    .addHelpText('after', examples('cloudshift serve --cloud gcp --profile prod-gcp --bucket models --key fraud/model/model.onnx --port 8080'))
    .action((opts: { cloud: Cloud; profile: string; bucket: string; key: string; sha256?: string; port: number; host: string; provider: 'auto' | 'cpu' | 'cuda' }) =>
      run(async () => {
        const { serveEndpoint } = await import('./endpoints/serve.js');
        const server = await serveEndpoint(opts, (line) => say(line));
        await new Promise<void>((resolve) => {
          for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => resolve());
        });
        await server.close();
        return EXIT.completed;
      }),
    );

  root
    .command('render')
    .description("the workload's deployment as manifests for a platform: Kubernetes (Deployment, Service, HorizontalPodAutoscaler per side, an HTTPRoute with the canary's weights), validated against the API schemas")
    .addOption(specOption())
    .addOption(new Option('--target <platform>', 'the platform').choices(['kubernetes']).default('kubernetes'))
    .option('--image <ref>', 'the cloudshift image the endpoints run', `cloudshift:${VERSION}`)
    .option('--namespace <name>', 'the namespace to put them in')
    .option('--gateway <name>', 'the Gateway the HTTPRoute attaches to', 'cloudshift')
    .option('--profiles-config-map <name>', 'the ConfigMap with the connection profiles (profiles.yaml)', 'cloudshift-profiles')
    .option('--weight <percent>', 'the share of traffic the route sends to the target (a canary step)', (v) => percent(v), 0)
    .option('--skip-inference-service', 'leave out the KServe InferenceService for the target')
    .option('-o, --out <file>', 'write them to this file instead of standard output')
    .addHelpText('after', examples('cloudshift render --spec examples/aws-to-gcp.yaml --target kubernetes | kubectl apply -f -', 'cloudshift render --spec examples/aws-to-gcp.yaml --weight 25 --out canary-25.yaml'))
    .action((opts: { spec: string; image: string; namespace?: string; gateway: string; profilesConfigMap: string; weight: number; skipInferenceService?: boolean; out?: string }) =>
      run(async () => {
        const parsed = parseSpec(readSpecFile(opts.spec));
        if (!parsed.ok) {
          sayError(formatSpecIssues(parsed.issues));
          return EXIT.usage;
        }
        if (!parsed.spec.workload) throw new UsageError(`${opts.spec} has no workload: there is no endpoint to render`);
        const [{ renderKubernetes, toYaml }, { azureStorageUri, defaultStorageUri, NotRenderable }, { StoreResolver }] = await Promise.all([
          import('./render/kubernetes.js'),
          import('./render/inference-service.js'),
          import('./clouds/profiles.js'),
        ]);
        const stores = new StoreResolver(loadConfig().profiles);
        const storageUri = (location: StorageLocation, key: string) => {
          const azure = location.cloud === 'azure' ? stores.azureServiceUrl(location.profile) : undefined;
          return azure ? azureStorageUri(azure, location, key) : defaultStorageUri(location, key);
        };
        let objects: unknown[];
        try {
          objects = renderKubernetes(parsed.spec, { image: opts.image, namespace: opts.namespace, gateway: opts.gateway, profilesConfigMap: opts.profilesConfigMap, targetPercent: opts.weight, storageUri, skipInferenceService: opts.skipInferenceService === true });
        } catch (error) {
          if (error instanceof NotRenderable) throw new UsageError(error.message);
          throw error;
        }
        const text = toYaml(objects);
        if (!opts.out) process.stdout.write(text);
        else {
          try {
            writeFileSync(opts.out, text);
          } catch (error) {
            throw new UsageError(`cannot write ${opts.out}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
          }
          sayError(`cloudshift: wrote ${opts.out}`);
        }
        return EXIT.completed;
      }),
    );

  root
    .command('worker')
    .description('run a worker for some task queues')
    .option('-q, --queues <list>', 'control,aws,gcp,azure,onprem or all', 'all')
    .addHelpText('after', examples('cloudshift worker --queues control,aws', 'cloudshift worker'))
    .action((opts: { queues: string }) =>
      run(async () => {
        const { runWorker } = await import('./worker.js');
        await runWorker(['--queues', opts.queues]);
        return EXIT.completed;
      }),
    );

  root
    .command('seed')
    .description("write what an example spec needs at its source on the local stack: its model, holdout, signed artifact and some data (idempotent)")
    .addOption(specOption())
    .addHelpText('after', examples('cloudshift seed --spec examples/gcp-to-azure.yaml && cloudshift audit --spec examples/gcp-to-azure.yaml'))
    .action((opts: { spec: string }) =>
      run(async () => {
        const parsed = parseSpec(readSpecFile(opts.spec));
        if (!parsed.ok) throw new InvalidMigrationSpecError(parsed.issues);
        const [{ seedExample }, { StoreResolver }] = await Promise.all([import('./dev/seed-example.js'), import('./clouds/profiles.js')]);
        const config = loadConfig();
        const wrote = await seedExample(parsed.spec, new StoreResolver(config.profiles), config.keysDir);
        say(wrote.length ? `seeded ${parsed.spec.name}:\n  ${wrote.join('\n  ')}` : `${parsed.spec.name}: its source holds what it needs already`);
        return EXIT.completed;
      }),
    );

  root
    .command('dev')
    .description('start the local stack and a worker serving every queue')
    .action(() =>
      run(async () => {
        const { ensureStack } = await import('./dev/local-stack.js');
        await ensureStack({ log: (line) => say(`[stack] ${line}`) });
        const { runWorker } = await import('./worker.js');
        await runWorker(['--queues', 'all']);
        return EXIT.completed;
      }),
    );

  root
    .command('demo')
    .description('the demo migration on the local stack')
    .addOption(cloudChoice('--source <cloud>', 'aws'))
    .addOption(cloudChoice('--target <cloud>', 'gcp'))
    .option('--objects <n>', 'how many data objects to seed', positiveInteger)
    .option('--wait-for-approval', 'stop at the gates for an operator instead of approving them itself')
    .addHelpText('after', examples('cloudshift demo', 'cloudshift demo --source azure --target aws --wait-for-approval'))
    .action((opts: { source: Cloud; target: Cloud; objects?: number; waitForApproval?: boolean }) =>
      run(async () => {
        const { runDemo } = await import('./dev/demo.js');
        return runDemo({ source: opts.source, target: opts.target, objects: opts.objects, waitForApproval: Boolean(opts.waitForApproval) });
      }),
    );
  return root;
}

async function main(argv: string[]): Promise<number> {
  let code: number = EXIT.completed;
  const cli = program((c) => (code = c));
  try {
    if (argv.length === 0) {
      cli.outputHelp({ error: true });
      return EXIT.usage;
    }
    await cli.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0; every other is a usage error.
      return error.exitCode === 0 ? EXIT.completed : EXIT.usage;
    }
    throw error;
  }
  return code;
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
      sayError(`cloudshift: ${error.message} (run with --help for usage)`);
      process.exit(EXIT.usage);
    }
    if (error instanceof SpecFileError || error instanceof MissingSearchAttributesError || error instanceof MigrationNameTakenError) {
      sayError(`cloudshift: ${error.message}`);
      process.exit(EXIT.usage);
    }
    if (error instanceof InvalidMigrationSpecError) {
      sayError(error.message);
      process.exit(EXIT.usage);
    }
    if (error instanceof Error && error.name === 'WorkflowNotFoundError') {
      const { address, namespace } = serverOf();
      sayError(`cloudshift: no migration ${(error as Error & { workflowId?: string }).workflowId ?? ''} in the namespace "${namespace}" at ${address} (${error.message}); another namespace? --namespace NAME or TEMPORAL_NAMESPACE; cloudshift list shows this one's`);
      process.exit(EXIT.notFound);
    }
    if (error instanceof Error && (error.name === 'NamespaceNotFoundError' || /^Namespace not found/.test(error.message))) {
      const { address, namespace } = serverOf();
      sayError(`cloudshift: no namespace "${namespace}" at ${address} (${error.message}); check --namespace or TEMPORAL_NAMESPACE (temporal operator namespace list shows those there)`);
      process.exit(EXIT.notFound);
    }
    if (error instanceof NonRetryableError) {
      // Reached, and refused: a model that is not what was recorded, a file that is not as signed.
      sayError(`cloudshift: ${error.type}: ${error.message}`);
      process.exit(EXIT.failed);
    }
    sayError(`cloudshift: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(EXIT.unreachable);
  },
);
