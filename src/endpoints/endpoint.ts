/**
 * An endpoint as every deployer describes it, and the deployer contract: workflows see only this,
 * so a Kubernetes, Cloud Run or SageMaker deployer implements it without touching workflow code.
 */
import type { ObjectStore } from '../clouds/object-store.js';
import type { ExecutionProvider, ServingSpec, ServingStack, StorageLocation } from '../spec.js';

export { SERVING_STACKS, type ServingStack } from '../spec.js';

export interface EndpointRequest {
  migration: string;
  side: 'source' | 'target';
  store: ObjectStore;
  modelKey: string;
  executionProvider: ExecutionProvider;
  /** A model that does not hash to this is refused (the copy manifest's checksum). */
  expectedModelSha256?: string;
  /** The workload's portable deployment description; each deployer honours what applies to it. */
  serving?: ServingSpec;
  /** The name V2 clients use for the model. @default 'model' */
  modelName?: string;
  /** The version it is served as. @default '1' */
  modelVersion?: string;
  /** Where the model is stored (a deployer that writes a model repository beside it needs it). */
  location?: StorageLocation;
  /** The serving stack: cloudshift's own endpoint, or NVIDIA Triton. @default 'cloudshift' */
  server?: ServingStack;
}


export interface Endpoint {
  url: string;
  provider: 'cpu' | 'cuda';
  modelSha256: string;
  /** What of the deployment description this deployer could not honour, and what it did instead. */
  notHonoured?: string[];
  /** The serving stack that runs it. @default 'cloudshift' */
  server?: ServingStack;
  /** Where the server loads the model from (Triton: its model repository). */
  repository?: string;
  /** host:port of the server's own Prometheus metrics, where not on its URL (Triton's metrics port). */
  metricsAddress?: string;
}

export interface EndpointDeployer {
  /** Idempotent: deploying what runs already returns it. Resolves once the endpoint is ready. */
  deploy(request: EndpointRequest): Promise<Endpoint>;
  /** Idempotent: stopping what does not run succeeds. */
  stop(migration: string, side: 'source' | 'target'): Promise<void>;
}
