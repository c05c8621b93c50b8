// The workload programs (guest-images/apps, built into guest-images/build/apps) shared by the
// native and emulated tests: their default-size checksums, and small argument sets for the
// emulator comparison.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const appsDir = join(root, 'guest-images', 'build', 'apps');
export const elfPath = (name: string): string => join(appsDir, `${name}.elf`);

/** Static x86-64 Linux executables: they run natively only on Linux x86-64. */
export const canRunNatively = process.platform === 'linux' && process.arch === 'x64';

export interface App {
  name: string;
  /** Checksum line printed at the default size (no arguments). */
  checksum: string;
  /** Small arguments for the emulator-vs-native comparison (exercise argv too). */
  smallArgs: string[];
}

export const APPS: App[] = [
  { name: 'idle', checksum: '0x67cb4ec77f9a6004', smallArgs: ['5', '10'] },
  { name: 'alloc-churn', checksum: '0x281f5c1c1198897b', smallArgs: ['12'] },
  { name: 'stencil', checksum: '0xa00f1a556a0b6458', smallArgs: ['24', '3'] },
  { name: 'event-sim', checksum: '0x2fc3e9641bc45e97', smallArgs: ['500', '4000'] },
  { name: 'game-search', checksum: '0x429a7df700b5c139', smallArgs: ['1', '5', '5'] },
  { name: 'lz-compress', checksum: '0xd666e23c10f9503e', smallArgs: ['8', '2'] },
  { name: 'memclear', checksum: '0xf1edf2dfdbf80c91', smallArgs: ['32', '8'] },
  { name: 'libc-check', checksum: '0x6a6fb500fde5d28b', smallArgs: ['1'] },
];
