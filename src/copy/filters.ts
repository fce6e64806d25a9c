/**
 * Include and exclude globs over keys relative to the source prefix: `*` matches within one path
 * segment, `**` across segments, `?` one character. An object is copied when it matches some
 * include (or there are none) and no exclude. cloudshift's own folder is never copied.
 */
import { isCloudshiftKey } from '../migration-paths.js';
import { NonRetryableError } from '../errors.js';
import { compileGlob } from './glob.js';

export function keyFilter(include: readonly string[], exclude: readonly string[]): (relativeKey: string) => boolean {
  const inc = include.map(compileGlob);
  const exc = exclude.map(compileGlob);
  return (key) => !isCloudshiftKey(key) && (inc.length === 0 || inc.some((r) => r.test(key))) && !exc.some((r) => r.test(key));
}

/** How long filtering runs before it lets the event loop take other work (heartbeats, other activities). */
const SLICE_MS = 5;
/** A page whose filtering takes longer than this is refused: the globs cost too much per key. */
export const FILTER_BUDGET_MS = 60_000;

/**
 * The items whose keys the filter accepts, in slices that give the event loop back every few
 * milliseconds: globs at their documented limits cost milliseconds a key, and a page filtered in
 * one go held a worker's event loop for seconds (another migration's status query waited 19–26 s).
 * A page that would take longer than FILTER_BUDGET_MS fails, saying what to simplify.
 */
export async function acceptedKeys<T>(items: readonly T[], accept: (relativeKey: string) => boolean, keyOf: (item: T) => string): Promise<T[]> {
  const kept: T[] = [];
  const started = performance.now();
  let slice = started;
  for (const item of items) {
    if (accept(keyOf(item))) kept.push(item);
    const now = performance.now();
    if (now - slice >= SLICE_MS) {
      if (now - started > FILTER_BUDGET_MS) {
        throw new NonRetryableError(
          'InvalidMigrationSpec',
          `copy.include and copy.exclude took over ${FILTER_BUDGET_MS / 1000} s to filter one page of ${items.length} keys; use fewer or simpler globs (fewer stars, a literal folder first)`,
        );
      }
      await new Promise((resolve) => setImmediate(resolve));
      slice = performance.now();
    }
  }
  return kept;
}

/** The key relative to a prefix, as filters and the target see it. */
export const relativeTo = (prefix: string, key: string): string => key.slice(prefix.length);
