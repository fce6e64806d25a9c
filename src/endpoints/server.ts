/**
 * The inference server: one model behind HTTP, speaking the Open Inference Protocol (V2) as
 * Triton and KServe do: GET /v2/health/live|ready, GET /v2/models/{name}[/versions/1] (metadata:
 * the ONNX model's own input and outputs) and …/ready, POST …/infer with typed tensors in JSON,
 * answered with the model's outputs by their ONNX names (label and probabilities for a
 * classifier, the value for a regressor). POST /v1/predict ({"instances": [[…]]} →
 * {"predictions": [{"score", "label"}]}) stays for Deployments rendered before V2 and for the
 * canary's join of mirrored answers, which records V1 and V2 answers alike. /healthz says the
 * process lives, /readyz that every replica has loaded the model (replicas are model instances
 * behind the one port, each request to the least busy), /metrics is Prometheus text (requests and
 * latency by role: served, or mirrored by the data plane). A request that carries an x-request-id
 * has its predictions recorded, so the canary can join what both sides answered to the same
 * request: GET /v1/recorded?since=<epoch ms>.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type * as ort from 'onnxruntime-node';
import type { ModelInterface } from '../inference/model-interface.js';
import { openModel, predict } from '../inference/session.js';
import { parseV2Request, v2Metadata, v2Outputs, v2Route } from './oip-server.js';
import type { ModelMetadata } from './oip.js';
import type { ExecutionProvider } from '../spec.js';
import { closeServer, HttpError, listen, readBody, sendJson, sendText } from '../http/http.js';
import { endpointMeters } from './endpoint-metrics.js';
import { PredictionRecorder } from './recorder.js';
import { REQUEST_ID_HEADER, ROLE_HEADER } from '../traffic/route.js';

/** Faults a test or a game day injects into one endpoint. */
export interface Faults {
  /** Share of prediction requests answered 500. */
  errorRate?: number;
  addedLatencyMs?: number;
  /** A slow rollout: the deployer waits this long before the endpoint starts. */
  startupDelayMs?: number;
  /** A binary classifier served with its two classes swapped (a wrong export, a label map mixed up). */
  swapClasses?: boolean;
}

export interface InferenceServerOptions {
  model: Uint8Array;
  /** The model's SHA-256, which every metric series carries. @default hashed here; deployers pass the digest they checked */
  modelSha256?: string;
  executionProvider: ExecutionProvider;
  port?: number;
  host?: string;
  /** The host the URL names, where it is not the one listened on (a wildcard, in a container). @default host */
  advertiseHost?: string;
  /** Named in metrics and answers, e.g. `gcp:models/churn/model.onnx`. */
  name: string;
  /** The name V2 clients use, `/v2/models/{modelName}`. @default 'model' */
  modelName?: string;
  /** The one version served, `/v2/models/{modelName}/versions/{modelVersion}`. @default '1' */
  modelVersion?: string;
  faults?: Faults;
  /** Model instances behind the port. @default 1 */
  replicas?: number;
  /** ONNX Runtime threads inside one prediction of one replica: the local form of a CPU limit. @default 1 */
  threadsPerReplica?: number;
  log?: (line: string) => void;
}

export interface RunningServer {
  url: string;
  provider: 'cpu' | 'cuda';
  replicas: number;
  close(): Promise<void>;
}

export async function startInferenceServer(options: InferenceServerOptions): Promise<RunningServer> {
  const { registry, byRole: meters } = endpointMeters(options.modelSha256 ?? createHash('sha256').update(options.model).digest('hex'));
  const recorder = new PredictionRecorder();
  let replicas: { session: ort.InferenceSession; iface: ModelInterface; classes?: number[]; inFlight: number }[] = [];
  let classNames: Map<number, string> | undefined;
  let width = 0;
  const leastBusy = () => replicas.reduce((best, r) => (r.inFlight < best.inFlight ? r : best));

  const modelName = options.modelName ?? 'model';
  const modelVersion = options.modelVersion ?? '1';
  let metadata: ModelMetadata | undefined;

  /** One prediction request, either protocol: metered by role, faults applied, answers recorded by request id. */
  const served = async (req: IncomingMessage, answer: (body: Buffer) => Promise<{ json: unknown; recorded: { score: number; label?: number }[] }>, res: ServerResponse) => {
    const started = performance.now();
    const role = req.headers[ROLE_HEADER] === 'mirrored' ? 'mirrored' : 'served';
    const meter = meters[role];
    const requestId = req.headers[REQUEST_ID_HEADER];
    try {
      if (!replicas.length) throw new HttpError(503, 'the model is still loading');
      const body = await readBody(req);
      if (options.faults?.addedLatencyMs) await new Promise((r) => setTimeout(r, options.faults!.addedLatencyMs));
      if (options.faults?.errorRate && Math.random() < options.faults.errorRate) throw new HttpError(500, 'injected fault');
      const { json, recorded } = await answer(body);
      sendJson(res, 200, json);
      meter.ok.inc();
      if (typeof requestId === 'string' && requestId) recorder.record(requestId, role, recorded);
    } catch (error) {
      meter.error.inc();
      throw error;
    } finally {
      meter.latency.observe((performance.now() - started) / 1000);
    }
  };

  const run = async (instances: number[][]) => {
    // A V2 request's rows are every input joined (parseV2Request), wider than the first input.
    const rowWidth = instances[0]?.length ?? width;
    const features = new Float32Array(instances.length * rowWidth);
    instances.forEach((row, r) => features.set(row, r * rowWidth));
    const replica = leastBusy();
    replica.inFlight++;
    const answered = await predict(replica.session, replica.iface, features, instances.length, replica.classes).finally(() => replica.inFlight--);
    const out = options.faults?.swapClasses ? swappedClasses(answered) : answered;
    return { out, recorded: Array.from(out.scores, (score, r) => (out.labels ? { score, label: out.labels[r]! } : { score })) };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method === 'GET' && path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (req.method === 'GET' && path === '/readyz') return sendJson(res, replicas.length ? 200 : 503, { ready: replicas.length > 0, model: options.name, replicas: replicas.length });
    if (req.method === 'GET' && path === '/metrics') return sendText(res, 200, await registry.metrics(), registry.contentType);
    if (req.method === 'GET' && path === '/v1/recorded') return sendJson(res, 200, recorder.since(Number(new URL(req.url ?? '/', 'http://x').searchParams.get('since') ?? 0)));
    if (req.method === 'POST' && path === '/v1/predict') {
      return served(req, async (body) => {
        const { recorded } = await run(parseInstances(body, width));
        return { json: { predictions: recorded, model: options.name }, recorded };
      }, res);
    }
    if (path.startsWith('/v2')) {
      const route = v2Route(req.method ?? 'GET', path, modelName, modelVersion);
      if (route.kind === 'live') return sendJson(res, 200, { live: true });
      if (route.kind === 'ready') return sendJson(res, replicas.length ? 200 : 503, { ready: replicas.length > 0 });
      if (route.kind === 'server') return sendJson(res, 200, { name: 'cloudshift', version: '1', extensions: [] });
      if (route.kind === 'model' || route.kind === 'modelReady' || route.kind === 'infer') {
        if (!metadata) throw new HttpError(503, 'the model is still loading');
        if (route.kind === 'model') return sendJson(res, 200, metadata);
        if (route.kind === 'modelReady') return sendJson(res, 200, { name: modelName, ready: true });
        return served(req, async (body) => {
          const request = parseV2Request(body, metadata!);
          const { out, recorded } = await run(request.rows);
          return { json: { model_name: modelName, model_version: modelVersion, ...(request.id ? { id: request.id } : {}), outputs: v2Outputs(out, metadata!, request.outputs, classNames) }, recorded };
        }, res);
      }
      throw new HttpError(404, route.kind === 'none' ? route.error : `no route ${req.method} ${path}`);
    }
    throw new HttpError(404, `no route ${req.method} ${path}`);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : 500;
      if (!res.headersSent) sendJson(res, status, { error: error instanceof Error ? error.message : String(error) });
    });
  });
  server.keepAliveTimeout = 65_000;
  const listening = new URL(await listen(server, options.port ?? 0, options.host ?? '127.0.0.1'));
  const url = options.advertiseHost ? `http://${options.advertiseHost}:${listening.port}` : listening.origin;
  const sessionOptions = { executionProvider: options.executionProvider, intraOpThreads: options.threadsPerReplica ?? 1, log: options.log };
  // The first replica settles the provider (and says once why CUDA is not used); the rest follow it.
  const first = await openModel(options.model, sessionOptions);
  const rest = await Promise.all(Array.from({ length: (options.replicas ?? 1) - 1 }, () => openModel(options.model, { ...sessionOptions, executionProvider: first.provider })));
  width = inputWidth(first.session);
  if (first.classNames && first.classes) classNames = new Map(first.classes.map((code, i) => [code, first.classNames![i]!]));
  metadata = v2Metadata(first.session, modelName, modelVersion);
  replicas = [first, ...rest].map((opened) => ({ session: opened.session, iface: opened.iface, ...(opened.classes ? { classes: opened.classes } : {}), inFlight: 0 }));
  return { url, provider: first.provider, replicas: replicas.length, close: () => closeServer(server) };
}

function inputWidth(session: ort.InferenceSession): number {
  const meta = session.inputMetadata[0];
  const dims = meta && 'shape' in meta ? meta.shape : [];
  const width = dims[1];
  return typeof width === 'number' ? width : 0;
}

function parseInstances(body: Buffer, width: number): number[][] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 'expected a JSON body {"instances": [[numbers], …]}');
  }
  const instances = (parsed as { instances?: unknown })?.instances;
  if (!Array.isArray(instances) || instances.length === 0) throw new HttpError(400, 'expected "instances": a non-empty array of rows');
  instances.forEach((row: unknown, r) => {
    if (!Array.isArray(row) || (width && row.length !== width) || row.some((v) => typeof v !== 'number')) {
      throw new HttpError(400, `instances[${r}]: expected ${width || 'the model\'s'} numbers`);
    }
  });
  return instances as number[][];
}

/** The fault swapClasses: each row's two probabilities exchanged and its label flipped. */
function swappedClasses(out: Awaited<ReturnType<typeof predict>>): Awaited<ReturnType<typeof predict>> {
  if (!out.labels || !out.probabilities || out.columns !== 2) return out;
  const probabilities = Float32Array.from(out.probabilities);
  for (let r = 0; r < out.scores.length; r++) [probabilities[2 * r], probabilities[2 * r + 1]] = [out.probabilities[2 * r + 1]!, out.probabilities[2 * r]!];
  return { ...out, probabilities, labels: out.labels.map((l) => 1 - l), scores: out.scores.map((s) => 1 - s) };
}
