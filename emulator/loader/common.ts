// Helpers shared by the loaders: number formatting, the RAM-size check and the placement check
// that every byte a loader is about to write passes before anything is written.

import type { PhysicalMemory } from '../memory/physical.ts';
import { ImageError } from './types.ts';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const FOUR_GIB = 0x1_0000_0000;

export function hex(n: number | bigint): string {
  return '0x' + n.toString(16);
}

export function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

export function describeRam(ramSize: number): string {
  return ramSize % MiB === 0 ? `${ramSize / MiB} MiB` : `${ramSize} bytes`;
}

export function requireRam(mem: PhysicalMemory, min: number, what: string): void {
  if (mem.ramSize < min) {
    throw new ImageError(`RAM too small: ${what} needs at least ${describeRam(min)}, the machine has ${describeRam(mem.ramSize)}`);
  }
}

/** A physical range [start, end) the loader intends to write with image bytes. */
export interface PlacedRange {
  what: string;
  start: number;
  end: number;
}

/** A physical range no image byte may land in. */
export interface ReservedRange {
  start: number;
  end: number;
  name: string;
}

export interface PlacementRules {
  ramSize: number;
  reserved: readonly ReservedRange[];
  /** Ranges must end at or below 4 GiB (32-bit entry, or the 0..4 GiB identity map). */
  below4G: boolean;
  below4GReason: string;
}

/**
 * Check that every range is inside RAM (and below 4 GiB when asked), misses the reserved areas and
 * does not overlap another range. Empty ranges are ignored. Throws ImageError naming the check.
 */
export function checkPlacement(ranges: readonly PlacedRange[], rules: PlacementRules): void {
  const live = ranges.filter((r) => r.end > r.start);
  for (const r of live) {
    const span = `[${hex(r.start)}, ${hex(r.end)})`;
    if (!Number.isSafeInteger(r.start) || !Number.isSafeInteger(r.end) || r.start < 0) {
      throw new ImageError(`${r.what} ${span} has an address too large to load`);
    }
    if (rules.below4G && r.end > FOUR_GIB) {
      throw new ImageError(`${r.what} ${span} ends above 4 GiB (${rules.below4GReason})`);
    }
    if (r.end > rules.ramSize) {
      throw new ImageError(`${r.what} ${span} is outside RAM (RAM is ${describeRam(rules.ramSize)}, [0x0, ${hex(rules.ramSize)}))`);
    }
    for (const z of rules.reserved) {
      if (r.start < z.end && z.start < r.end) {
        throw new ImageError(`${r.what} ${span} overlaps the loader's reserved area [${hex(z.start)}, ${hex(z.end)}) (${z.name})`);
      }
    }
  }
  const sorted = [...live].sort((a, b) => a.start - b.start);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1];
    const b = sorted[i];
    if (b.start < a.end) {
      throw new ImageError(`${a.what} [${hex(a.start)}, ${hex(a.end)}) and ${b.what} [${hex(b.start)}, ${hex(b.end)}) overlap`);
    }
  }
}

/** Copy a chunk of file bytes to `pa` and zero-fill up to `memsz` bytes. Call only after validation. */
export function writeChunk(mem: PhysicalMemory, pa: number, data: Uint8Array, memsz: number): void {
  if (data.length > 0) mem.load(pa, data);
  if (memsz > data.length) mem.u8.fill(0, pa + data.length, pa + memsz);
}

/** Write a 64-bit little-endian value given as its high and low 32-bit halves. */
export function writeU64(mem: PhysicalMemory, pa: number, hi: number, lo: number): void {
  mem.view.setUint32(pa, lo >>> 0, true);
  mem.view.setUint32(pa + 4, hi >>> 0, true);
}

/** Write a 64-bit little-endian value given as a number below 2^53. */
export function writeU64n(mem: PhysicalMemory, pa: number, value: number): void {
  writeU64(mem, pa, Math.floor(value / FOUR_GIB), value % FOUR_GIB);
}
