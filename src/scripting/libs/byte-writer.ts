/** A growable byte buffer for the encoders (cjson, cmsgpack); reset per call, shrunk after a big one. */
const KEEP = 64 * 1024;

export class ByteWriter {
  buf = Buffer.allocUnsafe(1024);
  len = 0;

  reset(): void {
    if (this.buf.length > KEEP) this.buf = Buffer.allocUnsafe(1024);
    this.len = 0;
  }
  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const nb = Buffer.allocUnsafe(cap);
    this.buf.copy(nb, 0, 0, this.len);
    this.buf = nb;
  }
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b;
  }
  /** Appends a latin1 string's bytes. */
  latin1(s: string): void {
    this.ensure(s.length);
    this.len += this.buf.latin1Write(s, this.len, s.length);
  }
  view(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}
