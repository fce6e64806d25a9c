/**
 * A client of the Open Inference Protocol over HTTP/REST, for any server that speaks it (Triton,
 * KServe's model server, Seldon MLServer, cloudshift's own endpoint). What a server answers is
 * parsed (oip.ts); what no retry can change (a V1-only server, another model or version, a 4xx)
 * is an EndpointMismatch naming the server and the model, while an unreachable or 5xx server
 * stays retryable.
 */
import { classifierPredictions, type Predictions } from '../inference/session.js';
import { classCode } from '../inference/class-codes.js';
import { EndpointMismatch, inferRequest, inferResponseSchema, type ModelMetadata, modelMetadataSchema, type OutputMapping, outputValues, type ServedInput } from './oip.js';

export interface OipTarget {
  url: string;
  model: string;
  version?: string;
}

/** A server that could not be reached or answered 5xx: worth another try. */
export class EndpointUnavailable extends Error {
  override readonly name = 'EndpointUnavailable';
}

const TIMEOUT_MS = 30_000;

export class OipClient {
  readonly where: string;

  constructor(readonly target: OipTarget) {
    this.where = `the server ${target.url}, model ${target.model}${target.version ? ` version ${target.version}` : ''}`;
  }

  private modelPath(suffix = ''): string {
    const { model, version } = this.target;
    return `v2/models/${encodeURIComponent(model)}${version ? `/versions/${encodeURIComponent(version)}` : ''}${suffix}`;
  }

  private async request(path: string, init?: RequestInit): Promise<{ status: number; body: string }> {
    const url = new URL(path, this.target.url.endsWith('/') ? this.target.url : `${this.target.url}/`);
    let answer: Response;
    try {
      answer = await fetch(url, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });
    } catch (error) {
      throw new EndpointUnavailable(`${this.where}: ${init?.method ?? 'GET'} /${path} did not answer (${(error as Error).message}); retried`);
    }
    const body = await answer.text();
    if (answer.status >= 500) throw new EndpointUnavailable(`${this.where}: ${init?.method ?? 'GET'} /${path} answered HTTP ${answer.status} (${body.slice(0, 200)}); retried`);
    return { status: answer.status, body };
  }

  /** The server lives and is ready (`/v2/health/ready`); a server that does not speak V2 is refused. */
  async ready(): Promise<boolean> {
    const live = await this.request('v2/health/live');
    if (live.status === 404 || live.status === 405) {
      throw new EndpointMismatch(`${this.where}: GET /v2/health/live answered HTTP ${live.status}: the server does not speak the Open Inference Protocol (V2); cloudshift needs a V2 server (Triton, KServe, MLServer, or the V2 routes of its own endpoint)`, { server: this.target.url });
    }
    if (live.status !== 200) return false;
    return (await this.request('v2/health/ready')).status === 200;
  }

  /** The model's metadata as the server reports it; another model or version is refused. */
  async metadata(): Promise<ModelMetadata> {
    const { status, body } = await this.request(this.modelPath());
    if (status === 404 || status === 400) {
      throw new EndpointMismatch(`${this.where}: GET /${this.modelPath()} answered HTTP ${status} (${body.slice(0, 200)}): the server does not serve this model${this.target.version ? ' at this version' : ''}`, { server: this.target.url, model: this.target.model });
    }
    if (status !== 200) throw new EndpointMismatch(`${this.where}: GET /${this.modelPath()} answered HTTP ${status}`, { server: this.target.url });
    let parsed: ModelMetadata;
    try {
      parsed = modelMetadataSchema.parse(JSON.parse(body));
    } catch {
      throw new EndpointMismatch(`${this.where}: the model's metadata is not the protocol's ({name, inputs, outputs}): ${body.slice(0, 200)}`, { server: this.target.url });
    }
    if (parsed.name !== this.target.model) throw new EndpointMismatch(`${this.where}: the metadata names the model "${parsed.name}", the spec "${this.target.model}"`, { server: this.target.url });
    if (this.target.version && parsed.versions && !parsed.versions.includes(this.target.version)) {
      throw new EndpointMismatch(`${this.where}: the server has versions ${parsed.versions.join(', ') || 'none'}, the spec names ${this.target.version}`, { server: this.target.url });
    }
    return parsed;
  }

  /** The model is loaded and ready (`/v2/models/{name}/ready`). */
  async modelReady(): Promise<boolean> {
    return (await this.request(this.modelPath('/ready'))).status === 200;
  }

  /**
   * One batch of rows through the model, read back as predictions: labels and probabilities for
   * a classifier (the binary score is the larger class label's, as the in-worker comparison
   * scores it), values for a regressor.
   */
  async predict(inputs: ServedInput | readonly ServedInput[], rows: readonly (readonly number[])[], outputs: OutputMapping, classes?: readonly number[], headers: Record<string, string> = {}): Promise<Predictions> {
    const names = [outputs.label, outputs.probabilities, outputs.value].filter((n): n is string => Boolean(n));
    const { status, body } = await this.request(this.modelPath('/infer'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(inferRequest(inputs, rows, names)),
    });
    if (status !== 200) throw new EndpointMismatch(`${this.where}: POST /${this.modelPath('/infer')} answered HTTP ${status}: ${body.slice(0, 300)}`, { server: this.target.url });
    let response;
    try {
      response = inferResponseSchema.parse(JSON.parse(body));
    } catch {
      throw new EndpointMismatch(`${this.where}: the inference answer is not the protocol's ({outputs: [{name, datatype, shape, data}]}): ${body.slice(0, 200)}`, { server: this.target.url });
    }
    return predictionsOf(response, outputs, rows.length, this.where, classes);
  }
}

/** A V2 answer as the predictions the comparison and the canary read. */
export function predictionsOf(response: Parameters<typeof outputValues>[0], outputs: OutputMapping, rows: number, where: string, classes?: readonly number[]): Predictions {
  if (outputs.value) {
    const { values } = outputValues(response, outputs.value, rows, where);
    return { scores: Float64Array.from({ length: rows }, (_, r) => values[r * (values.length / rows)]!), columns: 0 };
  }
  const probabilities = outputs.probabilities ? outputValues(response, outputs.probabilities, rows, where) : undefined;
  // String classes (BYTES) by their codes, as the in-worker run reads them.
  const label = outputs.label ? outputValues(response, outputs.label, rows, where, classCode) : undefined;
  if (label && label.columns !== 1) throw new EndpointMismatch(`${where}: output "${outputs.label}" has ${label.columns} values a row, a label is one`);
  const width = probabilities?.columns ?? 0;
  if (probabilities && classes && classes.length !== width) {
    throw new EndpointMismatch(`${where}: output "${outputs.probabilities}" has ${width} classes a row, the ONNX model has ${classes.length} (${classes.join(', ')})`);
  }
  return classifierPredictions(probabilities ? Float32Array.from(probabilities.values) : undefined, width, rows, label?.values, classes);
}
