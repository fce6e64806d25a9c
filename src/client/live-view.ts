/**
 * A block of lines redrawn in place on a terminal: the live progress of `--wait` and `--follow`.
 * Each line is wrapped at the terminal's width (never cut: a gate's approve and rollback commands
 * must show whole), and a redraw first moves back over every row the last one drew.
 */
export class LiveView {
  private rows = 0;

  constructor(
    private readonly out: { write(text: string): unknown },
    private readonly columns: () => number,
  ) {}

  draw(text: string): void {
    const width = Math.max(20, this.columns());
    const rows = text.split('\n').flatMap((line) => wrap(line, width));
    // Back to the start of the first row drawn, and clear from there to the end of the screen.
    const back = this.rows > 1 ? `\x1b[${this.rows - 1}A` : '';
    this.out.write(`\r${back}\x1b[J${rows.join('\n')}`);
    this.rows = rows.length;
  }

  /** Leaves the block as it is and moves below it. */
  end(): void {
    if (this.rows > 0) this.out.write('\n');
    this.rows = 0;
  }
}

/** A line as rows of at most `width - 1` characters (the last column would wrap on its own in some terminals). */
export function wrap(line: string, width: number): string[] {
  const room = width - 1;
  const chars = [...line];
  if (chars.length <= room) return [line];
  const rows: string[] = [];
  for (let at = 0; at < chars.length; at += room) rows.push(chars.slice(at, at + room).join(''));
  return rows;
}
