/**
 * Starts a worker thread on one of our modules, from source (under tsx) or from the built code.
 * Source files need tsx's loader inside the thread too (Node 20 does not pass a parent's loader
 * hooks to worker threads); the built code does not.
 */
import { Worker } from 'node:worker_threads';

/** `sibling` is the module's name without extension, resolved against `from` (the caller's import.meta.url). */
export function spawnModuleThread(from: string, sibling: string): Worker {
  const url = new URL(from.endsWith('.ts') ? `./${sibling}.ts` : `./${sibling}.js`, from);
  if (!url.pathname.endsWith('.ts')) return new Worker(url);
  const bootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(bootstrap, { eval: true });
}
