// The workflow bundle's entry point: every workflow type the worker registers.
export { copyDataWorkflow } from './copy-data.js';
export { migrationWorkflow } from './migration.js';
