// The workflow bundle's entry point: every workflow type the worker registers.
export { migrationWorkflow } from './migration.js';
