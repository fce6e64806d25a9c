/** Where the project and its local state (.stack: binaries, data, logs) live. */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
export const STATE_DIR = join(PROJECT_ROOT, '.stack');
