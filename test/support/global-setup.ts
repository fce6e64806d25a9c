import { ensureStack, type StackHandle } from '../../src/dev/local-stack.js';

let stack: StackHandle | undefined;

export async function setup(): Promise<void> {
  stack = await ensureStack({ log: (line) => console.log(`[stack] ${line}`) });
}

/** Stops only what setup started; a stack a developer left running stays up. */
export async function teardown(): Promise<void> {
  await stack?.stop();
}
