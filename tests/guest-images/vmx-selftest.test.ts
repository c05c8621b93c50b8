// guest-images/build/vmx-selftest.elf on x86vmx: a small x86 hypervisor (guest-images/src/vmx-selftest.c
// and vmx-selftest-asm.S) that enables VMX from CPUID and the capability MSRs, then checks VMX
// instructions, VM-entry checks, VM exits, event injection, VPID, EPT, PML and SPP against the SDM.
// It prints one "PASS: / FAIL: / SKIP: <name>" line per check, "vmx-selftest: K skipped" and
// "vmx-selftest: N passed, M failed", and exits 0 iff M = 0. The same image runs on Bochs 2.7
// (guest-images/tools/bochs/run-bochs.sh), where it finds Bochs's deviations (guest-images/README.md).
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Machine, BufferedSerial } from '../../emulator/machine/machine.ts';
import { StopReason } from '../../emulator/cpu/state.ts';

const image = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'guest-images', 'build', 'vmx-selftest.elf');

function runSelftest() {
  const serial = new BufferedSerial();
  const m = new Machine({ memoryMiB: 64, serial });
  m.load(readFileSync(image));
  const r = m.run(50_000_000);
  return { r, out: serial.text() };
}

describe('vmx-selftest.elf on x86vmx', () => {
  const { r, out } = runSelftest();
  const lines = out.split('\n');
  const summary = /^vmx-selftest: (\d+) passed, (\d+) failed$/m.exec(out);

  it('passes at least 60 checks, fails none, and exits 0', () => {
    expect(lines.filter((l) => l.startsWith('FAIL'))).toEqual([]);
    expect(summary, out).not.toBeNull();
    const passed = Number(summary![1]);
    const failed = Number(summary![2]);
    expect(failed).toBe(0);
    expect(passed).toBeGreaterThanOrEqual(60);
    expect(lines.filter((l) => l.startsWith('PASS: ')).length).toBe(passed);
    expect({ reason: r.reason, status: r.exitStatus }).toEqual({ reason: StopReason.Exit, status: 0 });
  });

  it('prints the skip count before the summary, and every line is a check, a note or the summary', () => {
    const skipped = /^vmx-selftest: (\d+) skipped$/m.exec(out);
    expect(skipped).not.toBeNull();
    expect(lines.filter((l) => l.startsWith('SKIP: ')).length).toBe(Number(skipped![1]));
    expect(out.indexOf(skipped![0])).toBeLessThan(out.indexOf(summary![0]));
    for (const l of lines) if (l !== '') expect(l).toMatch(/^(PASS: |FAIL: |SKIP: |vmx-selftest: )/);
  });

  it('the SPP TLB check (the bug Debian\'s Bochs 2.7 has) is run and passes', () => {
    expect(lines).toContain('PASS: spp: denied sub-page of a page whose allowed sub-page was just written still exits');
  });

  // x86vmx reports every feature the selftest checks once the VMX work is complete (EPT, VPID, PML,
  // SPP, unrestricted guest): then nothing is skipped.
  it('skips nothing: every capability the selftest covers is reported', () => {
    expect(lines.filter((l) => l.startsWith('SKIP: '))).toEqual([]);
  });
});
