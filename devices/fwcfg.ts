// QEMU-style firmware configuration device, traditional I/O-port interface (facts from QEMU's
// public fw_cfg specification, docs/specs/fw_cfg; the code is ours).
//
//   0x510  selector, 16-bit write: selects an item and resets the data offset to 0.
//          Bit 14 (write channel) and bit 15 (architecture-local) are part of the key.
//   0x511  data, read: the next byte of the selected item; past the end (or for an unknown
//          selector) reads return 0. Writes are ignored (as in QEMU since v2.4).
//
// Items: 0x0000 signature "QEMU"; 0x0001 ID (LE32 feature bits, 1 = traditional interface, no DMA);
// 0x0003 RAM size (LE64); 0x0005 number of CPUs (LE16); 0x000F max CPUs (LE16);
// 0x0019 file directory: BE32 count, then per file {BE32 size, BE16 select, BE16 reserved,
// name[56] NUL-padded}; files get selectors from 0x0020 up in the order they are added.
// Built-in file: "etc/x86vmx/version" (ASCII version string, no terminator).
//
// Choice of ours: a 16- or 32-bit read of the data port returns the next 2 or 4 bytes packed
// little-endian (the spec defines only byte reads on the x86 port).

import type { PortDevice } from '../emulator/memory/iobus.ts';

export const FW_CFG_PORT_SEL = 0x510;
export const FW_CFG_PORT_DATA = 0x511;
export const FW_CFG_SIGNATURE = 0x0000;
export const FW_CFG_ID = 0x0001;
export const FW_CFG_RAM_SIZE = 0x0003;
export const FW_CFG_NB_CPUS = 0x0005;
export const FW_CFG_MAX_CPUS = 0x000f;
export const FW_CFG_FILE_DIR = 0x0019;
export const FW_CFG_FILE_FIRST = 0x0020;
const FILE_NAME_MAX = 56;

export const X86VMX_VERSION = 'x86vmx 0.1.0';

export interface FwCfgOptions {
  ramSize: number;
  cpus?: number;
  maxCpus?: number;
}

export class FwCfg implements PortDevice {
  private readonly items = new Map<number, Uint8Array>();
  private readonly files: { name: string; select: number; size: number }[] = [];
  private selected: Uint8Array | undefined;
  private offset = 0;
  private selector = 0;

  constructor(opts: FwCfgOptions) {
    const cpus = opts.cpus ?? 1;
    this.setItem(FW_CFG_SIGNATURE, new TextEncoder().encode('QEMU'));
    this.setItem(FW_CFG_ID, le(1, 4));
    this.setItem(FW_CFG_RAM_SIZE, le(opts.ramSize, 8));
    this.setItem(FW_CFG_NB_CPUS, le(cpus, 2));
    this.setItem(FW_CFG_MAX_CPUS, le(opts.maxCpus ?? cpus, 2));
    this.addFile('etc/x86vmx/version', new TextEncoder().encode(X86VMX_VERSION));
  }

  /** Define or replace a numbered item. */
  setItem(key: number, data: Uint8Array): void {
    this.items.set(key & 0xffff, data);
    if ((key & 0xffff) === this.selector) this.selected = data;
  }

  /** Add a named file; returns its selector. */
  addFile(name: string, data: Uint8Array): number {
    const nameBytes = new TextEncoder().encode(name);
    if (nameBytes.length >= FILE_NAME_MAX) throw new Error(`fw_cfg file name too long: ${name}`);
    if (this.files.some(f => f.name === name)) throw new Error(`fw_cfg file ${name} added twice`);
    const select = FW_CFG_FILE_FIRST + this.files.length;
    this.files.push({ name, select, size: data.length });
    this.setItem(select, data);
    this.setItem(FW_CFG_FILE_DIR, this.directory());
    return select;
  }

  private directory(): Uint8Array {
    const out = new Uint8Array(4 + this.files.length * 64);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, this.files.length, false);
    this.files.forEach((f, i) => {
      const at = 4 + i * 64;
      dv.setUint32(at, f.size, false);
      dv.setUint16(at + 4, f.select, false);
      dv.setUint16(at + 6, 0, false);
      out.set(new TextEncoder().encode(f.name), at + 8);
    });
    return out;
  }

  // ---- PortDevice ----

  portIn(port: number, size: number): number {
    if (port !== FW_CFG_PORT_DATA) return size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
    let v = 0;
    for (let i = 0; i < size; i++) v += this.nextByte() * 2 ** (8 * i);
    return v;
  }

  portOut(port: number, _size: number, value: number): void {
    if (port !== FW_CFG_PORT_SEL) return; // data-port writes are ignored
    this.selector = value & 0xffff;
    this.selected = this.items.get(this.selector);
    this.offset = 0;
  }

  private nextByte(): number {
    const d = this.selected;
    if (!d || this.offset >= d.length) return 0;
    return d[this.offset++];
  }
}

/** `bytes`-byte little-endian encoding of a non-negative integer below 2^53. */
function le(value: number, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let v = value;
  for (let i = 0; i < bytes; i++) { out[i] = v % 256; v = Math.floor(v / 256); }
  return out;
}
