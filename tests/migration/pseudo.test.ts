// End to end: pseudo-migration of a real guest workload (game-search 1 5 5, 16 MiB) with every
// method and dirty tracker; every converged run must verify (destination RAM and state equal to the
// source's, and the destination's finished output equal to a never-migrated run). Then the check
// itself is shown to have teeth: compareMachines on a source and a destination built from the
// migration stream, with one byte of the source changed afterwards.
import { describe, it, expect, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bootFor } from '../../emulator/cli/migrate.ts';
import { pseudoMigrate, targetOf, type MigrationConfig, type MigrationReport } from '../../emulator/migration/pseudo.ts';
import { compareMachines } from '../../emulator/migration/verify.ts';
import { StreamReceiver } from '../../emulator/migration/receiver.ts';
import { BufferedSerial } from '../../emulator/machine/machine.ts';
import { VmxMachine } from '../../emulator/vmm/vmx-machine.ts';
import type { DirtyTrackerKind } from '../../emulator/hypervisor/dirty-log.ts';
import type { Method } from '../../emulator/migration/stream.ts';

const ELF = fileURLToPath(new URL('../../guest-images/build/apps/game-search.elf', import.meta.url));
const ARGS = ['1', '5', '5'];
const MIB = 16;
const RAM_PAGES = MIB * 1024 * 1024 / 4096; // 4096
const boot = bootFor(ELF, readFileSync(ELF), ARGS, MIB);

const CONFIG: Omit<MigrationConfig, 'method' | 'tracker'> = {
  bandwidth: 1e9, downtimeMs: 2, maxRounds: 20, ips: 3e7, startAfter: 500_000,
};

let reference = '';
beforeAll(() => {
  const m = boot({});
  m.run();
  reference = (m.serial as BufferedSerial).text();
});

const RUNS: { method: Method; tracker: DirtyTrackerKind }[] = [
  { method: '4k', tracker: 'write-protect' },
  { method: '4k', tracker: 'dirty-bits' },
  { method: '4k', tracker: 'pml' },
  { method: 'xbzrle', tracker: 'pml' },
  { method: 'spp', tracker: 'pml' },
  { method: 'spp-naive', tracker: 'pml' },
];
const reports = new Map<string, MigrationReport>();

/**
 * This file's own reading of a 4k stream: for each round, page address → page bytes (null for a zero
 * record). Layout: 21-byte header; sections of kind(1) round(4) records… CRC(4); a record is a
 * big-endian u64 (address | flags) then 1 byte (zero, flags 0x002) or 4096 bytes (page, 0x008); EOS = 0x010.
 */
function roundPages(s: Uint8Array): Map<number, Uint8Array | null>[] {
  const v = new DataView(s.buffer, s.byteOffset, s.length);
  const rounds: Map<number, Uint8Array | null>[] = [];
  let p = 25; // the stream header (stream.ts HEADER_BYTES)
  while (s[p] === 0x02) {
    p += 5;
    const m = new Map<number, Uint8Array | null>();
    for (;;) {
      const hi = v.getUint32(p), lo = v.getUint32(p + 4);
      p += 8;
      const flags = lo % 4096, gpa = hi * 2 ** 32 + (lo - flags);
      if (flags === 0x010) break;
      if (flags === 0x002) { m.set(gpa, null); p += 1; } else if (flags === 0x008) { m.set(gpa, s.subarray(p, p + 4096)); p += 4096; } else throw new Error(`flags ${flags} at ${p - 8}`);
    }
    p += 4;
    rounds.push(m);
  }
  return rounds;
}

describe('pseudo-migration of game-search 1 5 5 (16 MiB): every converged run verifies', () => {
  it('the never-migrated run produces output', () => {
    expect(reference.length).toBeGreaterThan(0);
  });

  for (const { method, tracker } of RUNS) {
    it(`${method}${method === '4k' ? ` (${tracker})` : ''}`, () => {
      const rep = pseudoMigrate(boot, { ...CONFIG, method, tracker }, reference);
      reports.set(method === '4k' ? `4k/${tracker}` : method, rep);
      expect(rep.converged).toBe(true);
      expect(rep.verifyMessage).toMatch(/output equals the never-migrated run/);
      expect(rep.verified).toBe(true);
      expect(rep.output).toBe(reference);
      expect(rep.rounds.length).toBeGreaterThanOrEqual(2);
      // round 1 sends all of guest RAM: every page at least as a 9-byte zero record
      const r1 = rep.rounds[0];
      expect(r1.units).toBe(RAM_PAGES);
      expect(r1.zeroPages + r1.fullPages).toBe(RAM_PAGES);
      expect(r1.bytes).toBeGreaterThanOrEqual(RAM_PAGES * 9);
      // exactly the last round is stop-and-copy, and it fits the downtime budget (2 ms at 1 Gbit/s)
      expect(rep.rounds.map((r) => r.stopAndCopy)).toEqual(rep.rounds.map((_, i) => i === rep.rounds.length - 1));
      expect(rep.rounds[rep.rounds.length - 1].bytes).toBeLessThanOrEqual(1e9 / 8 * 0.002);
      expect(rep.bytes).toBe(rep.rounds.reduce((a, r) => a + r.bytes, 0));
      expect(rep.tracker).toBe(method === '4k' || method === 'xbzrle' ? tracker : null);
    });
  }

  it('the three dirty trackers: write-protect sends the written pages, the EPT A/D trackers add only unchanged ones', () => {
    // Round 2's page records of each 4k stream (4k rounds hold only zero and page records).
    const sets = new Map<DirtyTrackerKind, Map<number, Uint8Array | null>[]>();
    for (const tracker of ['write-protect', 'dirty-bits', 'pml'] as const) {
      const chunks: Uint8Array[] = [];
      const rep = pseudoMigrate(boot, { ...CONFIG, method: '4k', tracker, sink: (b) => chunks.push(b.slice()) }, null);
      expect(rep.rounds.length).toBe(2);
      sets.set(tracker, roundPages(Buffer.concat(chunks)));
    }
    const wp = sets.get('write-protect')!, db = sets.get('dirty-bits')!, pml = sets.get('pml')!;
    expect(wp[0].size).toBe(RAM_PAGES);
    expect([...db[1].keys()].sort()).toEqual([...pml[1].keys()].sort());
    expect(wp[1].size).toBeGreaterThan(0);
    for (const gpa of wp[1].keys()) expect(pml[1].has(gpa)).toBe(true);
    // Pages only the A/D trackers report were not changed: with EPT A/D bits on, the guest's page
    // walks count as writes to its paging structures (SDM Vol. 3C, EPT accessed and dirty flags).
    let extra = 0;
    for (const [gpa, now] of pml[1]) {
      if (wp[1].has(gpa)) continue;
      extra++;
      const before = pml[0].get(gpa);
      expect(before === null ? now === null || now.every((b) => b === 0) : now !== null && Buffer.from(now).equals(Buffer.from(before!))).toBe(true);
    }
    // ...and the written pages did change since round 1
    let changed = 0;
    for (const [gpa, now] of wp[1]) {
      const before = wp[0].get(gpa)!;
      if (before === null ? now !== null : now === null || !Buffer.from(now).equals(Buffer.from(before))) changed++;
    }
    expect(changed).toBeGreaterThan(0);
    expect(extra + wp[1].size).toBe(pml[1].size);
  });

  it('spp (with prediction) takes no more SPP faults than spp-naive', () => {
    const spp = reports.get('spp'), naive = reports.get('spp-naive');
    expect(spp && naive).toBeTruthy();
    const faults = (r: MigrationReport) => r.rounds.reduce((a, x) => a + x.sppFaults, 0);
    expect(faults(naive!)).toBeGreaterThan(0);
    expect(faults(spp!)).toBeLessThanOrEqual(faults(naive!));
  });

  it('xbzrle with a cache holding all of RAM sends deltas from round 3 on, and still verifies', () => {
    // More, shorter rounds than CONFIG: a faster guest and a tighter downtime limit.
    const rep = pseudoMigrate(boot, { ...CONFIG, ips: 3e8, downtimeMs: 0.5, method: 'xbzrle', tracker: 'pml', xbzrleCacheBytes: MIB << 20 }, reference);
    expect(rep.converged).toBe(true);
    expect(rep.verified).toBe(true);
    expect(rep.output).toBe(reference);
    expect(rep.rounds.length).toBeGreaterThanOrEqual(3);
    // As QEMU: nothing is cached in round 1 (the bulk stage), so round 2 looks up nothing it could hit…
    expect(rep.rounds[0].xbzrleHits + rep.rounds[0].xbzrleMisses).toBe(0);
    expect(rep.rounds[1].xbzrleHits).toBe(0);
    // …round 2 inserts what it sends, so from round 3 on pages written again hit and go as deltas
    // (a page written for the first time still misses once).
    const later = rep.rounds.slice(2);
    expect(rep.rounds[1].xbzrleMisses).toBeGreaterThan(0);
    expect(later.reduce((a, r) => a + r.xbzrleHits, 0)).toBeGreaterThan(0);
    expect(later.reduce((a, r) => a + r.xbzrlePages, 0)).toBeGreaterThan(0);
  });
});

describe('verification can fail', () => {
  it('a destination built from the stream equals the source; one changed byte is named by page and sub-page', () => {
    let src: VmxMachine | null = null;
    const chunks: Uint8Array[] = [];
    const rep = pseudoMigrate((o) => (src = boot(o)), { ...CONFIG, method: '4k', tracker: 'pml', sink: (b) => chunks.push(b.slice()) }, reference);
    expect(rep.verified).toBe(true);
    expect(src).not.toBeNull();
    const source = src as unknown as VmxMachine;

    // this test's own destination, fed the same bytes
    const dst = new VmxMachine({ memoryMiB: MIB, serial: new BufferedSerial() });
    const rx = new StreamReceiver(targetOf(dst));
    for (const c of chunks) rx.push(c);
    rx.finish();
    expect(rx.done).toBe(true);
    expect(compareMachines(source, dst)).toBeNull();

    // one byte of the source's RAM, after the migration: GPA 0x123456 is page 0x123, offset 0x456 =
    // 1110 = 8·128 + 86, so sub-page 8
    const h = source.vm.hpaOf(0x123456);
    source.vm.mem.u8[h] ^= 0x5a;
    expect(compareMachines(source, dst)).toBe('guest memory differs: first at page 0x123 (GPA 0x123000), sub-page 8');
    // a second, earlier difference is the one named: GPA 0x7f80 is page 0x7, offset 0xf80 = 31·128
    source.vm.mem.u8[source.vm.hpaOf(0x7f80)] ^= 1;
    expect(compareMachines(source, dst)).toBe('guest memory differs: first at page 0x7 (GPA 0x7000), sub-page 31');
    // the same byte changed on the destination instead
    source.vm.mem.u8[source.vm.hpaOf(0x7f80)] ^= 1;
    source.vm.mem.u8[h] ^= 0x5a;
    expect(compareMachines(source, dst)).toBeNull();
    dst.vm.mem.u8[dst.vm.hpaOf(0xfff)] ^= 0x80; // page 0, offset 4095 = 31·128 + 127
    expect(compareMachines(source, dst)).toBe('guest memory differs: first at page 0x0 (GPA 0x0), sub-page 31');
    dst.vm.mem.u8[dst.vm.hpaOf(0xfff)] ^= 0x80;
    expect(compareMachines(source, dst)).toBeNull();
    dst.vm.mem.u8[dst.vm.hpaOf(0xfff000)] ^= 1; // the last page, offset 0: sub-page 0
    expect(compareMachines(source, dst)).toBe('guest memory differs: first at page 0xfff (GPA 0xfff000), sub-page 0');
    dst.vm.mem.u8[dst.vm.hpaOf(0xfff000)] ^= 1;

    // CPU state: a general register changed on the source
    source.vm.cpu.rl[3] ^= 1;
    expect(compareMachines(source, dst)).toMatch(/^CPU\/device state differs: cpu\.rl\.3: source -?\d+, destination -?\d+$/);
    source.vm.cpu.rl[3] ^= 1;
    expect(compareMachines(source, dst)).toBeNull();
  });

  it('an output that differs from the reference fails verification, naming the first differing byte', () => {
    const wrong = reference.slice(0, 10) + String.fromCharCode(reference.charCodeAt(10) ^ 1) + reference.slice(11);
    const rep = pseudoMigrate(boot, { ...CONFIG, method: 'spp', tracker: 'pml' }, wrong);
    expect(rep.converged).toBe(true);
    expect(rep.verified).toBe(false);
    expect(rep.verifyMessage).toBe('output differs from the never-migrated run at byte 10');
    expect(rep.output).toBe(reference);
  });

  it('machines of different RAM sizes', () => {
    const a = new VmxMachine({ memoryMiB: 8, serial: new BufferedSerial() });
    const b = new VmxMachine({ memoryMiB: 16, serial: new BufferedSerial() });
    expect(compareMachines(a, b)).toBe(`RAM sizes differ (${8 << 20} vs ${16 << 20})`);
  });
});
