// Every committed test guest boots and exits 0 (issue #2, "must show" 2). Output checked where it is fixed.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { Machine, BufferedSerial } from '../emulator/machine/machine.ts';
import { StopReason } from '../emulator/cpu/state.ts';

function boot(name: string, maxInsns = 50_000_000, flatAddress?: number) {
  const serial = new BufferedSerial();
  const m = new Machine({ memoryMiB: 64, serial });
  m.load(readFileSync(`guest-images/build/${name}`), { flatAddress });
  const r = m.run(maxInsns);
  return { r, out: serial.text(), m };
}

describe('test guests', () => {
  it('hello.elf prints the greeting and exits 0', () => {
    const { r, out } = boot('hello.elf');
    expect(out).toBe('Hello from x86vmx\n');
    expect(r.reason).toBe(StopReason.Exit);
    expect(r.exitStatus).toBe(0);
  });
  it('realmode.bin (flat boot sector at 0x7C00) goes real → protected → long mode and exits 0', () => {
    const { r, out } = boot('realmode.bin', 1_000_000, 0x7c00);
    expect(out).toBe('realmode: 16-bit real mode\nrealmode: far jump to 07C0:xxxx\nrealmode: 32-bit protected mode\nrealmode: 64-bit long mode\n');
    expect(r.reason).toBe(StopReason.Exit);
    expect(r.exitStatus).toBe(0);
  });
  it('bench-xorshift.elf prints what the independent C reference computes', () => {
    const { r, out } = boot('bench-xorshift.elf', 100_000_000);
    expect(out).toBe(readFileSync('guest-images/build/bench-xorshift.expected', 'latin1'));
    expect(r.exitStatus).toBe(0);
    // 14 instructions per iteration × 5,000,000 iterations, plus set-up and printing.
    expect(r.instructions).toBeGreaterThan(70_000_000);
  }, 300_000);
  for (const name of ['boot32to64.elf', 'exceptions.elf', 'paging.elf', 'timer.elf', 'smc.elf', 'system.elf']) {
    it(`${name} passes all its checks and exits 0`, () => {
      const { r, out } = boot(name);
      expect(out).not.toMatch(/FAIL/);
      expect({ reason: r.reason, status: r.exitStatus, message: r.message }).toEqual({ reason: StopReason.Exit, status: 0, message: 'guest exit status 0' });
    });
  }
});
