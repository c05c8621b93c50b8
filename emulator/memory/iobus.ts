// Port I/O dispatch (IN/OUT/INS/OUTS). 65536 ports, each optionally owned by one device.

export interface PortDevice {
  /** size is 1, 2 or 4; return the value (unused high bits ignored). */
  portIn(port: number, size: number): number;
  portOut(port: number, size: number, value: number): void;
}

export class IoBus {
  private owners: (PortDevice | undefined)[] = new Array(65536);
  /** Ports read with no device return all ones; counted so gaps are visible in --stats. */
  unclaimedAccesses = 0;

  register(first: number, count: number, dev: PortDevice): void {
    for (let p = first; p < first + count; p++) {
      if (this.owners[p]) throw new Error(`I/O port 0x${p.toString(16)} registered twice`);
      this.owners[p] = dev;
    }
  }

  in(port: number, size: number): number {
    const d = this.owners[port & 0xffff];
    if (d) return d.portIn(port & 0xffff, size);
    this.unclaimedAccesses++;
    return size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
  }

  out(port: number, size: number, value: number): void {
    const d = this.owners[port & 0xffff];
    if (d) d.portOut(port & 0xffff, size, value);
    else this.unclaimedAccesses++;
  }
}
