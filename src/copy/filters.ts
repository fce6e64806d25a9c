/**
 * Include and exclude globs over keys relative to the source prefix: `*` matches within one path
 * segment, `**` across segments, `?` one character. An object is copied when it matches some
 * include (or there are none) and no exclude. cloudshift's own folder is never copied.
 */
import { isCloudshiftKey } from '../migration-paths.js';
import { compileGlob } from './glob.js';

export function keyFilter(include: readonly string[], exclude: readonly string[]): (relativeKey: string) => boolean {
  const inc = include.map(compileGlob);
  const exc = exclude.map(compileGlob);
  return (key) => !isCloudshiftKey(key) && (inc.length === 0 || inc.some((r) => r.test(key))) && !exc.some((r) => r.test(key));
}

/** The key relative to a prefix, as filters and the target see it. */
export const relativeTo = (prefix: string, key: string): string => key.slice(prefix.length);
