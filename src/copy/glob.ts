/**
 * Glob matching in time linear in the key: `*` matches within one path segment, `**` across
 * segments, `**∕` also no directory at all, `?` one character other than '/'; everything else is
 * literal. A glob compiled to a backtracking regular expression took over a minute for one
 * 64-character key with a 30-character glob of stars; this simulates the glob's automaton instead,
 * keeping the set of positions it can be in, so a key costs at most (key length × glob length)
 * steps whatever the glob.
 */

type Token = { kind: 'char'; char: string } | { kind: 'one' } | { kind: 'star' } | { kind: 'globstar' } | { kind: 'globstarSlash' };

export interface GlobMatcher {
  readonly glob: string;
  test(key: string): boolean;
}

export function compileGlob(glob: string): GlobMatcher {
  const tokens: Token[] = [];
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      let j = i;
      while (glob[j] === '*') j++; // a run of three or more stars is one globstar
      const slash = glob[j] === '/';
      tokens.push({ kind: slash ? 'globstarSlash' : 'globstar' });
      i = slash ? j : j - 1;
    } else if (c === '*') {
      if (tokens.at(-1)?.kind !== 'star') tokens.push({ kind: 'star' });
    } else if (c === '?') tokens.push({ kind: 'one' });
    else tokens.push({ kind: 'char', char: c });
  }
  const end = tokens.length;
  // States 0..end are "before token p"; end+1+p is "inside the directories of the globstar at p",
  // where a '/' must come before the glob goes on.
  const inside = (p: number) => end + 1 + p;
  /** Adds `position` and every position reachable from it without reading a character. */
  const close = (set: Uint8Array, position: number) => {
    for (let p = position; p <= end && !set[p]; p++) {
      set[p] = 1;
      const kind = tokens[p]?.kind;
      if (kind !== 'star' && kind !== 'globstar' && kind !== 'globstarSlash') break;
    }
  };
  return {
    glob,
    test(key: string): boolean {
      let current = new Uint8Array(2 * (end + 1));
      let next = new Uint8Array(2 * (end + 1));
      close(current, 0);
      for (let k = 0; k < key.length; k++) {
        const c = key[k]!;
        next.fill(0);
        for (let p = 0; p < end; p++) {
          const token = tokens[p]!;
          if (token.kind === 'globstarSlash' && current[inside(p)]) {
            next[inside(p)] = 1;
            if (c === '/') close(next, p + 1);
          }
          if (!current[p]) continue;
          switch (token.kind) {
            case 'char':
              if (token.char === c) close(next, p + 1);
              break;
            case 'one':
              if (c !== '/') close(next, p + 1);
              break;
            case 'star':
              if (c !== '/') close(next, p);
              break;
            case 'globstar':
              close(next, p);
              break;
            case 'globstarSlash':
              next[inside(p)] = 1;
              if (c === '/') close(next, p + 1);
              break;
          }
        }
        if (!next.includes(1)) return false;
        [current, next] = [next, current];
      }
      return current[end] === 1;
    },
  };
}
