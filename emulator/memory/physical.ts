// Host-physical memory: one ArrayBuffer of RAM plus MMIO windows.
// Addresses are plain numbers (< 2^52, exact in a double). RAM accesses use a DataView
// (little-endian, unaligned allowed); anything at or above `ramSize` goes to MMIO dispatch.

export interface MmioDevice {
  /** Read `size` bytes (1, 2, 4 or 8; 8 returns the low 32 bits, see readHi) at `offset` inside the window. */
  mmioRead(offset: number, size: number): number;
  mmioWrite(offset: number, size: number, value: number): void;
}

interface MmioWindow { base: number; length: number; dev: MmioDevice }

export class PhysicalMemory {
  readonly ramSize: number;
  readonly buffer: ArrayBuffer;
  readonly u8: Uint8Array;
  readonly view: DataView;
  private windows: MmioWindow[] = [];
  /** Called with the 4 KiB frame number of every RAM write that hits a frame flagged in codeFrames. */
  onCodeWrite: (frame: number) => void = () => {};
  /** One byte per 4 KiB RAM frame: non-zero when decoded instructions are cached for the frame. */
  readonly codeFrames: Uint8Array;

  constructor(ramSizeBytes: number) {
    if (!Number.isInteger(ramSizeBytes) || ramSizeBytes <= 0 || ramSizeBytes % 4096 !== 0) {
      throw new Error(`RAM size must be a positive multiple of 4096 bytes, got ${ramSizeBytes}`);
    }
    this.ramSize = ramSizeBytes;
    this.buffer = new ArrayBuffer(ramSizeBytes);
    this.u8 = new Uint8Array(this.buffer);
    this.view = new DataView(this.buffer);
    this.codeFrames = new Uint8Array(ramSizeBytes / 4096);
  }

  mapMmio(base: number, length: number, dev: MmioDevice): void {
    if (base < this.ramSize) throw new Error(`MMIO window 0x${base.toString(16)} overlaps RAM`);
    this.windows.push({ base, length, dev });
  }

  private window(pa: number): MmioWindow | undefined {
    for (const w of this.windows) if (pa >= w.base && pa < w.base + w.length) return w;
    return undefined;
  }

  // --- slow, general accessors (MMIO-aware). The CPU's fast path indexes u8/view directly. ---
  read(pa: number, size: number): number {
    if (pa + size <= this.ramSize) {
      switch (size) {
        case 1: return this.u8[pa];
        case 2: return this.view.getUint16(pa, true);
        default: return this.view.getUint32(pa, true);
      }
    }
    const w = this.window(pa);
    if (w) return w.dev.mmioRead(pa - w.base, size);
    return size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff; // open bus
  }

  write(pa: number, size: number, value: number): void {
    if (pa + size <= this.ramSize) {
      const f = Math.floor(pa / 4096);
      if (this.codeFrames[f] !== 0) this.onCodeWrite(f);
      if (size > 1 && this.codeFrames[Math.floor((pa + size - 1) / 4096)] !== 0) this.onCodeWrite(f + 1);
      switch (size) {
        case 1: this.u8[pa] = value; return;
        case 2: this.view.setUint16(pa, value, true); return;
        default: this.view.setUint32(pa, value, true); return;
      }
    }
    const w = this.window(pa);
    if (w) w.dev.mmioWrite(pa - w.base, size, value);
  }

  isRam(pa: number): boolean { return pa >= 0 && pa < this.ramSize; }

  /** Copy bytes into RAM (loaders). Throws if the range is outside RAM. */
  load(pa: number, bytes: Uint8Array): void {
    if (pa < 0 || pa + bytes.length > this.ramSize) {
      throw new Error(`load of ${bytes.length} bytes at 0x${pa.toString(16)} does not fit in ${this.ramSize >> 20} MiB of RAM`);
    }
    this.u8.set(bytes, pa);
  }
}
