/** `scripts/stack.sh start|stop|status|reset`: the local stack by hand. */
import { ensureStack, LOCAL_ENDPOINTS, resetStackData, stackStatus, stopDataPlanes, stopServices } from './local-stack.js';

const command = process.argv[2] ?? 'status';
switch (command) {
  case 'start': {
    await ensureStack({ log: (line) => console.log(`[stack] ${line}`) });
    console.log(`[stack] Temporal ${LOCAL_ENDPOINTS.temporal}, Web UI ${LOCAL_ENDPOINTS.temporalUi}`);
    console.log(`[stack] S3 (MinIO) ${LOCAL_ENDPOINTS.s3}, GCS (fake-gcs-server) ${LOCAL_ENDPOINTS.gcs}, Azure Blob (Azurite) ${LOCAL_ENDPOINTS.azureBlob}`);
    console.log(`[stack] Prometheus ${LOCAL_ENDPOINTS.prometheus}, Route 53 (moto) ${LOCAL_ENDPOINTS.route53}`);
    break;
  }
  case 'stop': {
    const planes = await stopDataPlanes();
    const stopped = await stopServices();
    console.log(`[stack] stopped: ${[...stopped, ...(planes ? [`${planes} data plane(s)`] : [])].join(', ') || 'nothing of ours was running'}`);
    break;
  }
  case 'reset': {
    const { stopped, removed } = await resetStackData();
    console.log(`[stack] stopped: ${stopped.join(', ') || 'nothing of ours was running'}; removed ${removed}`);
    break;
  }
  case 'status': {
    const status = await stackStatus();
    for (const [name, up] of Object.entries(status)) console.log(`[stack] ${name}: ${up ? 'answering' : 'down'}`);
    process.exitCode = Object.values(status).every(Boolean) ? 0 : 3;
    break;
  }
  default:
    console.error(`usage: scripts/stack.sh start|stop|status|reset (got "${command}")`);
    process.exitCode = 2;
}
