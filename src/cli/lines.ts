/** Text that comes in pieces (a thread's writes), given out a line at a time: a line once its newline has come, the rest at flush(). */
export class Lines {
  private partial = "";

  constructor(private readonly line: (text: string) => void) {}

  push(text: string): void {
    const lines = (this.partial + text).split("\n");
    this.partial = lines.pop()!;
    for (const l of lines) this.line(l);
  }

  flush(): void {
    if (this.partial) this.line(this.partial);
    this.partial = "";
  }
}
