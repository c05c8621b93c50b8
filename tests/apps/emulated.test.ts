// Must show 1 of issue 4: for every workload at a small size, its stdout in the emulator equals
// its stdout natively — the same ELF file with the same arguments. The emulator side is
// `x86vmx run guest-images/build/apps/NAME.elf -- ARGS` (bin/x86vmx.mjs, as `npx x86vmx` runs it),
// which boots the static Linux executable under guest-images/build/kernel.elf.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { APPS, canRunNatively, elfPath, root } from './apps.ts';

const CLI = join(root, 'bin', 'x86vmx.mjs');

describe.skipIf(!canRunNatively)('workloads: emulator stdout = native stdout', () => {
  for (const app of APPS) {
    const args = app.smallArgs;
    it(`${app.name} ${args.join(' ')}`, () => {
      const native = spawnSync(elfPath(app.name), args, { encoding: 'latin1', timeout: 30_000 });
      expect(native.status).toBe(0);
      expect(native.stdout).toMatch(/\nchecksum=0x[0-9a-f]{16}\n$/);

      const emu = spawnSync(process.execPath, [CLI, 'run', elfPath(app.name), '--', ...args], {
        encoding: 'latin1',
        timeout: 240_000,
        cwd: root,
      });
      const context = `x86vmx run exited with ${emu.status}${emu.signal ? ` (${emu.signal})` : ''}; stderr:\n${emu.stderr}`;
      expect(emu.stdout, context).toBe(native.stdout);
      expect(emu.status, context).toBe(0);
    }, 300_000);
  }
});
