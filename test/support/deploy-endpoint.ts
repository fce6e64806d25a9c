/**
 * A stand-in worker for the endpoint tests: deploys one endpoint from a bucket with the local
 * deployer, prints its URL, and waits to be killed, as a worker serving a migration would.
 * Arguments: JSON {stateDir, migration, side, location, modelKey}.
 */
import { LocalEndpointDeployer } from '../../src/endpoints/deployer.js';
import type { StorageLocation } from '../../src/spec.js';
import { testResolver } from './stores.js';

const { stateDir, migration, side, location, modelKey } = JSON.parse(process.argv[2]!) as { stateDir: string; migration: string; side: 'source' | 'target'; location: StorageLocation; modelKey: string };
const deployer = new LocalEndpointDeployer({ stateDir });
const endpoint = await deployer.deploy({ migration, side, store: testResolver().store(location), modelKey, executionProvider: 'cpu', modelName: 'fraud' });
console.log(JSON.stringify(endpoint));
setInterval(() => undefined, 60_000);
