/**
 * A spec file as a person saves it, read into a value for parseSpec: UTF-8 (a BOM is fine),
 * JSON or YAML, no key twice in one object (JSON.parse would silently keep the last), no YAML
 * alias bombs, and no larger than a workflow input Temporal accepts. Errors say what is wrong and
 * where, and never echo the file's content (a spec may have been pasted with a secret in it).
 */
import { LineCounter, parseDocument } from 'yaml';

/** Temporal refuses a workflow input above 2 MiB and warns above 512 KiB; a spec is far smaller. */
export const MAX_SPEC_BYTES = 512 * 1024;

export class SpecFileError extends Error {
  override readonly name = 'SpecFileError';
}

export function parseSpecText(bytes: Uint8Array, path: string): unknown {
  if (bytes.length === 0) throw new SpecFileError(`${path} is empty: expected a migration spec in JSON or YAML`);
  if (bytes.length > MAX_SPEC_BYTES) throw new SpecFileError(`${path} is ${bytes.length} bytes; a spec may be at most ${MAX_SPEC_BYTES} (Temporal refuses large workflow inputs)`);
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    throw new SpecFileError(`${path} is UTF-16; save it as UTF-8`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new SpecFileError(`${path} is not valid UTF-8; save it as UTF-8`);
  }
  if (text.includes('\u0000')) throw new SpecFileError(`${path} holds NUL characters: is it UTF-16 or binary? Save it as UTF-8`);
  if (text.trim() === '') throw new SpecFileError(`${path} holds only whitespace: expected a migration spec in JSON or YAML`);
  const yaml = /\.ya?ml$/i.test(path);
  if (!yaml) {
    try {
      JSON.parse(text);
    } catch (error) {
      // V8's message names the position and, for some errors, quotes the text there: keep the position only.
      const at = /position (\d+)/.exec(String(error))?.[1];
      throw new SpecFileError(`${path} is not valid JSON${at === undefined ? '' : ` (at ${lineAndColumn(text, Number(at))})`}: check for a trailing comma, a missing quote or comments`);
    }
  }
  // JSON is YAML, so one parser finds duplicate keys in both; aliases are capped against bombs.
  const lines = new LineCounter();
  const document = parseDocument(text, { uniqueKeys: true, lineCounter: lines, prettyErrors: false });
  const problem = document.errors[0];
  if (problem) {
    const where = problem.pos ? lines.linePos(problem.pos[0]) : undefined;
    const what = problem.code === 'DUPLICATE_KEY' ? 'a key appears twice in one object' : problem.code === 'ALIAS_PROPS' || problem.code === 'BAD_ALIAS' ? 'a bad alias' : `not valid ${yaml ? 'YAML' : 'JSON'} (${problem.code})`;
    throw new SpecFileError(`${path}: ${what}${where ? ` at line ${where.line}, column ${where.col}` : ''}`);
  }
  try {
    return document.toJS({ maxAliasCount: 50 });
  } catch {
    throw new SpecFileError(`${path}: its aliases expand too far (a YAML alias bomb?); write the spec out without them`);
  }
}

function lineAndColumn(text: string, position: number): string {
  const before = text.slice(0, position).split('\n');
  return `line ${before.length}, column ${before.at(-1)!.length + 1}`;
}
