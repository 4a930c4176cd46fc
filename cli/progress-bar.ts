/**
 * A progress bar on stderr, only when stderr is a terminal (so pipes and CI logs stay clean) and only
 * for inputs big enough to take a moment. Redraws at most every 100 ms.
 */
export class ProgressBar {
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly totalBytes: number | undefined,
    private readonly label: string,
  ) {}

  static enabledFor(stream: NodeJS.WriteStream, totalBytes: number | undefined): boolean {
    return stream.isTTY === true && (totalBytes === undefined || totalBytes > 32 * 1024 * 1024);
  }

  update(bytes: number): void {
    const now = Date.now();
    if (now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const width = 30;
    const mb = (bytes / 1048576).toFixed(0);
    let text: string;
    if (this.totalBytes) {
      const f = Math.min(1, bytes / this.totalBytes);
      const filled = Math.round(f * width);
      text = `${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(f * 100).toFixed(0).padStart(3)}% ${mb} MiB`;
    } else {
      text = `${this.label} ${mb} MiB`;
    }
    this.stream.write(`\r${text}\u001b[K`);
    this.drawn = true;
  }

  done(): void {
    if (this.drawn) this.stream.write('\r\u001b[K');
  }
}
