// Every guest image and workload gives identical output bare and with --vmx: the same serial
// output, the same exit status, the same number of retired instructions and the same virtual time
// (emulator/hypervisor/README.md: the instructions the layer completes for the guest count, and
// virtual time is the CPU's). The reference is the bare run of the same image on a bare Machine,
// loaded the way `x86vmx run` loads it (emulator/cli/run.ts loadForRun); the VMX side adopts a
// loaded staging machine as `run --vmx` does.
//
// The documented exception: nested VMX is not offered (the VM hides CPUID.1:ECX.VMX and #GPs
// IA32_FEATURE_CONTROL and the VMX capability MSRs), so vmx-caps.elf and vmx-selftest.elf report
// VMX bare and its absence under the VM.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Machine, BufferedSerial } from '../../emulator/machine/machine.ts';
import { StopReason } from '../../emulator/cpu/state.ts';
import { loadForRun } from '../../emulator/cli/run.ts';
import { VmxMachine } from '../../emulator/vmm/vmx-machine.ts';
import { APPS, elfPath, root } from '../apps/apps.ts';

const MEMORY_MIB = 64;
const MAX_INSNS = 200_000_000;
const build = (name: string): string => join(root, 'guest-images', 'build', name);

interface Outcome { out: string; reason: StopReason; status: number; message: string; instructions: number; ticks: number }
interface LoadOpts { flatAddress?: number }

function runBare(path: string, args: string[], opts: LoadOpts = {}): Outcome & { ioAccesses: number } {
  const serial = new BufferedSerial();
  const m = new Machine({ memoryMiB: MEMORY_MIB, serial });
  if (loadForRun(m, path, readFileSync(path), args, opts) === 'program') serial.feed(new Uint8Array([4]));
  // Count the port accesses of the bare run (every IN/OUT exits under the VM: unconditional I/O exiting).
  let ioAccesses = 0;
  const io = m.io, inFn = io.in.bind(io), outFn = io.out.bind(io);
  io.in = (port, size) => { ioAccesses++; return inFn(port, size); };
  io.out = (port, size, value) => { ioAccesses++; outFn(port, size, value); };
  const r = m.run(MAX_INSNS);
  return { out: serial.text(), reason: r.reason, status: r.exitStatus, message: r.message, instructions: r.instructions, ticks: r.ticks, ioAccesses };
}

function runVmx(path: string, args: string[], opts: LoadOpts = {}): Outcome & { m: VmxMachine } {
  const staging = new Machine({ memoryMiB: MEMORY_MIB, serial: new BufferedSerial() });
  const serial = new BufferedSerial();
  if (loadForRun(staging, path, readFileSync(path), args, opts) === 'program') serial.feed(new Uint8Array([4]));
  const m = new VmxMachine({ memoryMiB: MEMORY_MIB, serial });
  m.adopt(staging);
  const r = m.run(MAX_INSNS);
  return { out: serial.text(), reason: r.reason, status: r.exitStatus, message: r.message, instructions: r.instructions, ticks: r.ticks, m };
}

function expectSame(path: string, args: string[], opts: LoadOpts = {}): { bare: Outcome; vmx: Outcome } {
  const bare = runBare(path, args, opts);
  const vmx = runVmx(path, args, opts);
  // The bare run itself must be a successful, complete run, or identical failures would pass.
  expect({ reason: bare.reason, status: bare.status }, bare.message).toEqual({ reason: StopReason.Exit, status: 0 });
  expect(bare.out).not.toMatch(/FAIL/);
  expect(bare.out.length).toBeGreaterThan(0);
  expect(vmx.out).toBe(bare.out);
  expect({ reason: vmx.reason, status: vmx.status }, vmx.message).toEqual({ reason: bare.reason, status: bare.status });
  expect(vmx.instructions).toBe(bare.instructions);
  expect(vmx.ticks).toBe(bare.ticks);
  return { bare, vmx };
}

describe('guest images: bare = --vmx', () => {
  for (const name of ['hello.elf', 'exceptions.elf', 'paging.elf', 'timer.elf', 'smc.elf', 'system.elf', 'boot32to64.elf']) {
    it(name, () => { expectSame(build(name), []); });
  }
  it('realmode.bin (flat at 0x7c00: real → protected → long mode under unrestricted guest)', () => {
    const { bare } = expectSame(build('realmode.bin'), [], { flatAddress: 0x7c00 });
    expect(bare.out).toMatch(/64-bit long mode\n$/);
  });
  it('bench-xorshift.elf (70 M instructions, ends by itself)', () => {
    const { bare } = expectSame(build('bench-xorshift.elf'), []);
    expect(bare.out).toBe(readFileSync(build('bench-xorshift.expected'), 'latin1'));
  }, 120_000);
});

describe('workloads under the guest kernel: bare = --vmx', () => {
  for (const app of APPS) {
    it(`${app.name} ${app.smallArgs.join(' ')}`, () => {
      const { bare } = expectSame(elfPath(app.name), app.smallArgs);
      expect(bare.out).toMatch(/\nchecksum=0x[0-9a-f]{16}\n$/);
    }, 60_000);
  }
});

describe('nested VMX is not offered', () => {
  it('vmx-caps.elf: bare reads the VMX capability MSRs, under the VM every one #GPs and CPUID.1:ECX.VMX is clear', () => {
    const path = build('vmx-caps.elf');
    const bare = runBare(path, []), vmx = runVmx(path, []);
    for (const r of [bare, vmx]) expect({ reason: r.reason, status: r.status }, r.message).toEqual({ reason: StopReason.Exit, status: 0 });
    const ecx = (out: string): number => {
      const m = /^cpuid\.1\.ecx 0x([0-9a-f]+)$/m.exec(out);
      expect(m, out).not.toBeNull();
      return Number.parseInt(m![1], 16);
    };
    const msrs = (out: string): Map<number, string> =>
      new Map([...out.matchAll(/^msr 0x([0-9a-f]+) (.+)$/gm)].map((m) => [Number.parseInt(m[1], 16), m[2]]));
    expect(ecx(bare.out) & 0x20).toBe(0x20);
    expect(ecx(vmx.out)).toBe((ecx(bare.out) & ~0x20) >>> 0);
    const b = msrs(bare.out), v = msrs(vmx.out);
    // IA32_FEATURE_CONTROL (3AH) and IA32_VMX_BASIC..IA32_VMX_VMFUNC (480H-490H), SDM Vol. 4 Table 2-2.
    const vmxMsrs = [0x3a, ...Array.from({ length: 0x11 }, (_, i) => 0x480 + i)];
    for (const msr of vmxMsrs) {
      expect(b.get(msr), `bare MSR 0x${msr.toString(16)}`).toMatch(/^0x[0-9a-f]{16}$/);
      expect(v.get(msr), `VM MSR 0x${msr.toString(16)}`).toBe('#GP');
    }
    expect([...v.keys()]).toEqual([...b.keys()]);
    for (const s of v.values()) expect(s).toBe('#GP');
    // IA32_VMX_BASIC bits 30:0 are the VMCS revision identifier, nonzero (SDM Vol. 3D A.1).
    expect(BigInt(b.get(0x480)!) & 0x7fffffffn).not.toBe(0n);
    expect(bare.out).toMatch(/^secondary: ept=1 vpid=1 unrestricted=1 pml=1 spp=1$/m);
    expect(vmx.out).not.toMatch(/^secondary:/m);
  });
  it('vmx-selftest.elf: bare passes with VMX reported; under the VM it reports VMX absent and stops', () => {
    const path = build('vmx-selftest.elf');
    const bare = runBare(path, []), vmx = runVmx(path, []);
    expect({ reason: bare.reason, status: bare.status }, bare.message).toEqual({ reason: StopReason.Exit, status: 0 });
    expect(bare.out).toMatch(/^PASS: cpuid\.1:ecx\.vmx reported$/m);
    expect(bare.out).not.toMatch(/^FAIL/m);
    expect(bare.out).toMatch(/^vmx-selftest: [1-9]\d* passed, 0 failed$/m);
    expect(vmx.reason, vmx.message).toBe(StopReason.Exit);
    expect(vmx.status).not.toBe(0);
    expect(vmx.out).toMatch(/^FAIL: cpuid\.1:ecx\.vmx reported/m);
    expect(vmx.out).not.toMatch(/^PASS/m);
    expect(vmx.out).toMatch(/^vmx-selftest: 0 passed, 1 failed$/m);
  });
});

describe('x86vmx run --vmx --stats (the CLI)', () => {
  it('hello.elf: stdout as bare, exit code 0, VM exits by reason on stderr', () => {
    const bare = runBare(build('hello.elf'), []);
    const cli = spawnSync(process.execPath, [join(root, 'bin', 'x86vmx.mjs'), 'run', 'guest-images/build/hello.elf', '--vmx', '--stats'],
      { cwd: root, encoding: 'latin1', timeout: 120_000 });
    const context = `exit ${cli.status}${cli.signal ? ` (${cli.signal})` : ''}; stderr:\n${cli.stderr}`;
    expect(cli.stdout, context).toBe(bare.out);
    expect(cli.status, context).toBe(0);
    expect(cli.stderr).toMatch(/VM exits: +\d+ by basic reason/);
    const byReason = new Map([...cli.stderr.matchAll(/^ +(\d+) +(\d+) (.+)$/gm)].map((m) => [Number(m[2]), { n: Number(m[1]), name: m[3] }]));
    // Every IN/OUT of the bare run is one I/O-instruction exit (reason 30, unconditional I/O exiting).
    expect(bare.ioAccesses).toBeGreaterThan(0);
    expect(byReason.get(30)).toEqual({ n: bare.ioAccesses, name: 'I/O instruction' });
    expect(byReason.get(48)?.name).toBe('EPT violation');
    expect(byReason.get(48)!.n).toBeGreaterThan(0);
    expect(cli.stderr).toMatch(new RegExp(`^instructions: +${bare.instructions} `, 'm'));
  });
});
