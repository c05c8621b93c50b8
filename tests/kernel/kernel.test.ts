// The guest kernel (guest-images/kernel, built as guest-images/build/kernel.elf) running its test
// program guest-images/kernel/test/ktest.c (+ start.S), which is compiled here with the host gcc
// into a static x86-64 Linux executable and passed as multiboot module 0. Each ktest mode prints
// key=value lines; the checks below read them, the exit status, the console, and guest memory
// (the kernel's published free list and page tables).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Machine, BufferedSerial } from '../../emulator/machine/machine.ts';
import { StopReason } from '../../emulator/cpu/state.ts';
import { loadForRun } from '../../emulator/cli/run.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const KERNEL = readFileSync(join(root, 'guest-images', 'build', 'kernel.elf'));
const TEST_SRC = join(root, 'guest-images', 'kernel', 'test');
const FREELIST_HDR = 0x101000;
const EPOCH_2026 = 1767225600; // 2026-01-01T00:00:00Z, the emulator's default RTC start

vi.setConfig({ testTimeout: 60_000 });

let dir = '';
let ktestPath = '';
let ktest: Buffer;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'x86vmx-ktest-'));
  ktestPath = join(dir, 'ktest.elf');
  execFileSync('gcc', [
    '-static', '-nostdlib', '-ffreestanding', '-fno-pie', '-no-pie', '-O2', '-fno-tree-loop-distribute-patterns',
    '-fcf-protection=none', '-fno-stack-protector', '-Wl,--build-id=none', '-o', ktestPath,
    join(TEST_SRC, 'start.S'), join(TEST_SRC, 'ktest.c'),
  ]);
  ktest = readFileSync(ktestPath);
}, 60_000);

afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

interface Run { status: number; reason: StopReason; out: string; kv: Map<string, string>; ticks: number; instructions: number; m: Machine }

function boot(cmdline: string, opts: { module?: Uint8Array | null; input?: string; memoryMiB?: number; maxInsns?: number } = {}): Run {
  const serial = new BufferedSerial();
  if (opts.input !== undefined) serial.feed(opts.input);
  const m = new Machine({ memoryMiB: opts.memoryMiB ?? 64, serial });
  const modules = opts.module === null ? [] : [{ data: opts.module ?? ktest, cmdline }];
  m.load(KERNEL, { cmdline: 'x86vmx-kernel', modules });
  const r = m.run(opts.maxInsns ?? 100_000_000);
  const out = serial.text();
  const kv = new Map<string, string>();
  for (const line of out.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0 && !line.startsWith('kernel:')) kv.set(line.slice(0, i), line.slice(i + 1));
  }
  return { status: r.exitStatus, reason: r.reason, out, kv, ticks: r.ticks, instructions: r.instructions, m };
}

const num = (r: Run, k: string): number => {
  const v = r.kv.get(k);
  if (v === undefined) throw new Error(`no ${k}= line in:\n${r.out}`);
  return Number(v);
};
const big = (r: Run, k: string): bigint => BigInt(r.kv.get(k) ?? 'x');

const u32 = (m: Machine, pa: number) => m.mem.view.getUint32(pa, true);
const u64 = (m: Machine, pa: number) => m.mem.view.getBigUint64(pa, true);

/** Walk the guest's 4-level page tables: the PTE of va, or 0n if a level is not present. */
function pte(m: Machine, va: bigint): bigint {
  let table = BigInt(m.cpu.cr3) & ~0xfffn;
  for (const shift of [39n, 30n, 21n, 12n]) {
    const e = u64(m, Number(table + ((va >> shift) & 511n) * 8n));
    if ((e & 1n) === 0n || shift === 12n) return e;
    table = e & 0x000ffffffffff000n;
  }
  return 0n;
}

describe('guest kernel: process start', () => {
  it('prints only the program output and passes the exit status through', () => {
    const r = boot('ktest hello');
    expect(r.out).toBe('hello from ktest\n');
    expect(r.reason).toBe(StopReason.Exit);
    expect(r.status).toBe(0);
    expect(boot('ktest exit 5').status).toBe(5); // exit (60)
  });

  it('argc, argv from the module command line, empty envp, auxv, RSP alignment, RDX = 0', () => {
    const r = boot('ktest   args  one two');
    expect(r.out).toContain('argc=4\nargv[0]=ktest\nargv[1]=args\nargv[2]=one\nargv[3]=two\nargv_null=1\nenvp_null=1\n');
    for (const k of ['AT_PHDR_ok', 'AT_ENTRY_ok', 'AT_RANDOM_present', 'AT_RANDOM_nonzero', 'AT_EXECFN_ok', 'stack_high']) expect(num(r, k), k).toBe(1);
    expect(num(r, 'AT_PAGESZ')).toBe(4096);
    expect(num(r, 'AT_PHNUM')).toBe(ktest.readUInt16LE(56));
    expect(r.kv.get('AT_PLATFORM')).toBe('x86_64');
    expect(num(r, 'rsp_mod16')).toBe(0);
    expect(r.kv.get('rdx')).toBe('0x0');
    expect(r.status).toBe(0);
  });

  it('x86vmx run PROGRAM -- ARGS boots the program under the kernel with argv[0] = basename', () => {
    const serial = new BufferedSerial();
    const m = new Machine({ memoryMiB: 64, serial });
    expect(loadForRun(m, ktestPath, ktest, ['args', 'x'], {})).toBe('program');
    const res = m.run(50_000_000);
    expect(serial.text()).toContain('argc=3\nargv[0]=ktest.elf\nargv[1]=args\nargv[2]=x\n');
    expect(res.exitStatus).toBe(0);
  });
});

describe('guest kernel: system calls', () => {
  it('write, writev, bad pointers and descriptors, registers preserved across SYSCALL, getpid', () => {
    const r = boot('ktest write');
    expect(r.out.startsWith('out\nwrite1=4\nerr\nwrite2=4\n')).toBe(true);
    expect(num(r, 'write_zero')).toBe(0);
    expect(num(r, 'write_badptr')).toBe(-14);
    expect(num(r, 'write_kernelptr')).toBe(-14);
    expect(num(r, 'write_badfd')).toBe(-9);
    expect(r.out).toContain('vector\nwritev=7\n');
    expect(num(r, 'regs_preserved')).toBe(1);
    expect(num(r, 'getpid')).toBe(1);
  });

  it('read(0) blocks on the UART and returns what arrives; ^D is end of file', () => {
    const r = boot('ktest read', { input: 'line one\nline two\n\x04' });
    expect(r.out).toBe('line one\nline two\nlast=0\ntotal=18\ncalls_positive=1\nread_badfd=-9\n');
    expect(r.status).toBe(0);
  });

  it('read(0) sleeps in HLT until input arrives later (UART interrupt / tick), then returns it', () => {
    const serial = new BufferedSerial();
    const m = new Machine({ memoryMiB: 64, serial });
    m.load(KERNEL, { modules: [{ data: ktest, cmdline: 'ktest read' }] });
    const first = m.run(2_000_000);
    expect(first.reason).toBe(StopReason.InsnLimit); // blocked, not exited
    expect(first.ticks).toBeGreaterThan(first.instructions * 5); // mostly halted: virtual time runs on
    expect(serial.text()).toBe('');
    serial.feed('late input\n\x04');
    const rest = m.run(50_000_000);
    expect(rest.reason).toBe(StopReason.Exit);
    expect(serial.text()).toBe('late input\nlast=0\ntotal=11\ncalls_positive=1\nread_badfd=-9\n');
  });

  it('uname, arch_prctl(ARCH_SET_FS/GET_FS) with FS-relative loads across timer interrupts', () => {
    const u = boot('ktest uname');
    expect(u.kv.get('sysname')).toBe('Linux');
    expect(u.kv.get('machine')).toBe('x86_64');
    expect(u.kv.get('release')).toBe('6.1.0-x86vmx');
    const t = boot('ktest tls');
    for (const k of ['set_fs', 'get_fs']) expect(num(t, k), k).toBe(0);
    for (const k of ['get_fs_ok', 'fs_reads_ok']) expect(num(t, k), k).toBe(1);
    expect(num(t, 'bad_code')).toBe(-22);
    expect(t.m.cpu.interruptCount).toBeGreaterThan(2);
  });

  it('an unknown system call returns -ENOSYS and is logged once per number', () => {
    const r = boot('ktest enosys');
    expect(r.out).toBe(
      'kernel: unknown system call 999\nr999=-38\nr999_again=-38\nkernel: unknown system call 1000\nr1000=-38\n',
    );
    expect(r.status).toBe(0);
  });

  it('user SSE code works (CR4.OSFXSR)', () => {
    expect(num(boot('ktest sse'), 'sse_int')).toBe(4987);
  });
});

describe('guest kernel: memory', () => {
  it('brk: grows with zero-filled pages, shrinks, keeps bytes below the break, rejects bad values', () => {
    const r = boot('ktest brk');
    for (const k of ['brk0_aligned', 'brk0_after_end', 'brk_grow', 'heap_zero', 'brk_shrink', 'brk_regrow', 'kept_bytes',
      'fresh_page_zero', 'brk_below_start', 'brk_huge']) expect(num(r, k), k).toBe(1);
  });

  it('mmap/munmap/mprotect: zero-filled, top-down, hints, MAP_FIXED, errors, reuse of freed frames zeroed', () => {
    const r = boot('ktest mmap');
    for (const k of ['mmap_ok', 'mmap_high', 'mmap_zero', 'mmap_topdown', 'neighbours_kept', 'hint_used', 'hint_zero',
      'fixed_replaces', 'remap_zero']) expect(num(r, k), k).toBe(1);
    expect(num(r, 'munmap_middle')).toBe(0);
    expect(num(r, 'fixed_noreplace')).toBe(-17); // EEXIST
    expect(num(r, 'fixed_unaligned')).toBe(-22);
    expect(num(r, 'shared')).toBe(-22); // MAP_SHARED is not supported
    expect(num(r, 'file_fd3')).toBe(-9);
    expect(num(r, 'file_fd0')).toBe(-19);
    expect(num(r, 'len0')).toBe(-22);
    expect(num(r, 'munmap_unaligned')).toBe(-22);
    expect(num(r, 'munmap_len0')).toBe(-22);
    expect(num(r, 'munmap_all')).toBe(0);
    expect(num(r, 'mprotect_ro')).toBe(0);
    expect(num(r, 'read_after_mprotect')).toBe(0);
    expect(num(r, 'mprotect_unmapped')).toBe(-12);
  });

  it('.bss beyond the file is demand-zero; the stack grows on demand within its 8 MiB', () => {
    expect(num(boot('ktest bss'), 'bss_zero')).toBe(1);
    const s = boot('ktest stack');
    expect(num(s, 'deep_stack')).toBe(1);
    expect(s.status).toBe(0);
  });

  it('munmap puts the frames on top of the published free list (LIFO), unmapped from the page tables', () => {
    const r = boot('ktest freelist');
    expect(num(r, 'munmap')).toBe(0);
    const m = r.m;
    const hdr = FREELIST_HDR;
    expect(Buffer.from(m.mem.u8.subarray(hdr, hdr + 8)).toString('latin1')).toBe('X86VMXFL');
    expect(u32(m, hdr + 0x08)).toBe(1); // version
    expect(u32(m, hdr + 0x0c)).toBe(4096);
    const count = Number(u64(m, hdr + 0x10));
    const capacity = Number(u64(m, hdr + 0x18));
    const framesPhys = Number(u64(m, hdr + 0x20));
    const managed = Number(u64(m, hdr + 0x28));
    const allocs = Number(u64(m, hdr + 0x30));
    const frees = Number(u64(m, hdr + 0x38));
    const cleared = Number(u64(m, hdr + 0x40));
    expect(managed).toBeGreaterThan(15000); // 64 MiB machine
    expect(capacity).toBeGreaterThanOrEqual(managed);
    expect(count).toBe(managed - allocs + frees);
    expect(frees).toBeGreaterThanOrEqual(16);
    expect(cleared).toBe(allocs); // every frame handed out went through clear_page
    expect(framesPhys % 4096).toBe(0);
    // The 16 pages were unmapped in address order, so the top of the stack holds page 15 ('P')
    // down to page 0 ('A'), each frame still holding the marker the program wrote.
    for (let i = 0; i < 16; i++) {
      const frame = u32(m, framesPhys + (count - 1 - i) * 4) * 4096;
      const marker = Buffer.from(m.mem.u8.subarray(frame, frame + 8)).toString('latin1');
      expect(marker).toBe('KTESTPG' + String.fromCharCode(0x50 - i));
    }
    // Every entry is a distinct managed frame above the array.
    const seen = new Set<number>();
    for (let i = 0; i < count; i++) seen.add(u32(m, framesPhys + i * 4));
    expect(seen.size).toBe(count);
    const addr = BigInt(r.kv.get('addr')!);
    for (let i = 0n; i < 16n; i++) expect(pte(m, addr + i * 4096n) & 1n).toBe(0n);
  });

  it('clear_page is REP STOSQ with ECX = 512 (Linux clear_page_rep) and its address is published', () => {
    // b9 00 02 00 00  mov $0x200,%ecx; 31 c0  xor %eax,%eax; f3 48 ab  rep stos %rax,%es:(%rdi); c3  ret
    const clearPage = symbol(KERNEL, 'clear_page');
    const off = fileOffset(KERNEL, clearPage);
    expect(KERNEL.subarray(off, off + 11).toString('hex')).toBe('b90002000031c0f348abc3');
    const r = boot('ktest hello');
    expect(u64(r.m, FREELIST_HDR + 0x48)).toBe(clearPage);
  });

  it('running out of page frames kills the program with a message (status 137)', () => {
    const r = boot('ktest stack', { memoryMiB: 4 });
    expect(r.out).toContain('kernel: out of memory');
    expect(r.status).toBe(137);
  });
});

describe('guest kernel: time', () => {
  it('clock_gettime is monotonic, equals the TSC (virtual ns), and REALTIME = 2026-01-01 + TSC', () => {
    const r = boot('ktest time');
    expect(num(r, 'gettime')).toBe(0);
    const m1 = big(r, 'mono1'), m2 = big(r, 'mono2'), tsc = big(r, 'tsc');
    expect(m1).toBeGreaterThan(tsc); // read just after RDTSC
    expect(m1 - tsc).toBeLessThan(2000n);
    expect(m2 - m1).toBeGreaterThan(100_000n); // a 100000-iteration loop in between
    expect(m2).toBeLessThan(BigInt(r.ticks));
    const rt = big(r, 'realtime');
    const base = BigInt(EPOCH_2026) * 1_000_000_000n;
    expect(rt - base).toBeGreaterThan(m2);
    expect(rt - base).toBeLessThan(BigInt(r.ticks));
    expect(num(r, 'tv_sec')).toBe(EPOCH_2026);
    for (const k of ['nsec_range', 'tv_usec_range', 'res_nsec']) expect(num(r, k), k).toBe(1);
    expect(num(r, 'bad_clock')).toBe(-22);
    expect(num(r, 'bad_ptr')).toBe(-14);
  });

  it('nanosleep halts until the deadline: virtual time advances by at least the request, few instructions run', () => {
    const r = boot('ktest sleep 50');
    expect(num(r, 'nanosleep')).toBe(0);
    const slept = num(r, 'slept_ns');
    expect(slept).toBeGreaterThanOrEqual(50_000_000);
    expect(slept).toBeLessThan(52_000_000); // woken by the ~1 kHz tick
    expect(num(r, 'bad_nsec')).toBe(-22);
    expect(num(r, 'clock_nanosleep_abs')).toBe(0);
    expect(num(r, 'abs_reached')).toBe(1);
    expect(r.ticks).toBeGreaterThan(52_000_000);
    expect(r.instructions).toBeLessThan(r.ticks / 20); // the CPU was halted most of the time
  });
});

describe('guest kernel: faults end the program like fatal signals', () => {
  const cases: [string, number, RegExp][] = [
    ['segv', 139, /^kernel: segmentation fault \(SIGSEGV\): write to an unmapped address at rip=0x[0-9a-f]+ addr=0x0 /],
    ['segv-read', 139, /^kernel: segmentation fault \(SIGSEGV\): read from an unmapped address at rip=0x[0-9a-f]+ addr=0x1000 /],
    ['kernel-write', 139, /^kernel: segmentation fault \(SIGSEGV\): access to a kernel address at rip=0x[0-9a-f]+ addr=0xffffffff80102000 /],
    ['text-write', 139, /^kernel: segmentation fault \(SIGSEGV\): write to a read-only page at rip=/],
    ['nx', 139, /^kernel: segmentation fault \(SIGSEGV\): instruction fetch from a non-executable page at rip=(0x[0-9a-f]+) addr=\1 /],
    ['mprotect-write', 139, /^kernel: segmentation fault \(SIGSEGV\): write to a read-only page at rip=/],
    ['stack-overflow', 139, /^kernel: segmentation fault \(SIGSEGV\): write to an unmapped address at rip=0x[0-9a-f]+ addr=0x7fffff7fe000 /],
    ['gp', 139, /^kernel: segmentation fault \(SIGSEGV\): general protection fault at rip=/],
    ['ud', 132, /^kernel: illegal instruction \(SIGILL\) at rip=/],
    ['div0', 136, /^kernel: floating point exception \(SIGFPE\): integer divide error at rip=/],
    ['int3', 133, /^kernel: trace\/breakpoint trap \(SIGTRAP\) at rip=/],
  ];
  for (const [mode, status, re] of cases) {
    it(`${mode} → status ${status}`, () => {
      const r = boot(`ktest ${mode}`);
      expect(r.out).toMatch(re);
      expect(r.out.split('\n').filter(Boolean)).toHaveLength(1);
      expect(r.reason).toBe(StopReason.Exit);
      expect(r.status).toBe(status);
    });
  }
});

describe('guest kernel: programs it refuses', () => {
  const PREFIX = 'kernel: program is not a static x86-64 ELF executable: ';
  const patched = (edit: (b: Buffer) => void): Buffer => { const b = Buffer.from(ktest); edit(b); return b; };
  const phdr = (b: Buffer, i: number) => Number(b.readBigUInt64LE(32)) + i * 56;
  const firstLoad = (b: Buffer) => { for (let i = 0; ; i++) if (b.readUInt32LE(phdr(b, i)) === 1) return phdr(b, i); };
  const cases: [string, () => Uint8Array, string][] = [
    ['text', () => Buffer.from('#!/bin/sh\necho hello\n'), 'no ELF magic (the file starts with 23 21 2f 62)'],
    ['a short file', () => Buffer.from('\x7fELF\x02\x01'), '6 bytes is too short for an ELF header (64 bytes)'],
    ['an empty file', () => new Uint8Array(0), 'the module is empty (0 bytes)'],
    ['a 32-bit ELF', () => readFileSync(join(root, 'guest-images', 'build', 'boot32to64.elf')), 'ELF class 1 is not ELFCLASS64 (2): a 32-bit program'],
    ['ET_DYN', () => patched((b) => b.writeUInt16LE(3, 16)), 'type ET_DYN (a position-independent executable or a shared library); only ET_EXEC is supported'],
    ['another machine', () => patched((b) => b.writeUInt16LE(183, 18)), 'machine 183 is not EM_X86_64 (62)'],
    ['PT_INTERP', () => patched((b) => {
      for (let i = 0; i < b.readUInt16LE(56); i++) if (b.readUInt32LE(phdr(b, i)) === 0x6474e551) b.writeUInt32LE(3, phdr(b, i)); // PT_GNU_STACK → PT_INTERP
    }), 'it has a PT_INTERP segment: a dynamically linked program (link it with -static)'],
    ['a kernel-half segment', () => patched((b) => b.writeBigUInt64LE(0xffff800000000000n, firstLoad(b) + 16)),
      'PT_LOAD segment 0 [0xffff800000000000, 0xffff8000'],
    ['a truncated file', () => ktest.subarray(0, 0x1800), 'PT_LOAD segment 1: file bytes [0x1000, 0x'],
    ['an entry point outside the code', () => patched((b) => b.writeBigUInt64LE(0x10n, 24)), 'the entry point 0x10 is not inside an executable PT_LOAD segment'],
  ];
  for (const [what, make, reason] of cases) {
    it(`${what}: clear message, status 127`, () => {
      const r = boot('prog', { module: make() });
      expect(r.out.startsWith(PREFIX + reason), r.out).toBe(true);
      expect(r.out.split('\n').filter(Boolean)).toHaveLength(1);
      expect(r.status).toBe(127);
    });
  }

  it('no module at all: clear message, status 127', () => {
    const r = boot('', { module: null });
    expect(r.out).toMatch(/^kernel: no program: the boot loader passed no multiboot module/);
    expect(r.status).toBe(127);
  });
});

// ---- ELF symbol lookup for kernel.elf ----
function symbol(elf: Buffer, name: string): bigint {
  const shoff = Number(elf.readBigUInt64LE(40)), shnum = elf.readUInt16LE(60);
  for (let i = 0; i < shnum; i++) {
    const s = shoff + i * 64;
    if (elf.readUInt32LE(s + 4) !== 2) continue; // SHT_SYMTAB
    const off = Number(elf.readBigUInt64LE(s + 24)), size = Number(elf.readBigUInt64LE(s + 32));
    const str = shoff + elf.readUInt32LE(s + 40) * 64;
    const strOff = Number(elf.readBigUInt64LE(str + 24));
    for (let p = off; p < off + size; p += 24) {
      const n = strOff + elf.readUInt32LE(p);
      if (elf.toString('latin1', n, elf.indexOf(0, n)) === name) return elf.readBigUInt64LE(p + 8);
    }
  }
  throw new Error(`no symbol ${name}`);
}
function fileOffset(elf: Buffer, va: bigint): number {
  const phoff = Number(elf.readBigUInt64LE(32));
  for (let i = 0; i < elf.readUInt16LE(56); i++) {
    const p = phoff + i * 56;
    const vaddr = elf.readBigUInt64LE(p + 16), filesz = elf.readBigUInt64LE(p + 32);
    if (elf.readUInt32LE(p) === 1 && va >= vaddr && va < vaddr + filesz) return Number(elf.readBigUInt64LE(p + 8) + (va - vaddr));
  }
  throw new Error('address not in the file');
}
