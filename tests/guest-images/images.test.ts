// Checks of the committed guest images in guest-images/build (no emulator needed):
// - each image has the shape its entry contract requires (ELF64 direct boot / ELF32 multiboot v1);
// - the benchmark loop is exactly the documented 14 instructions and its constants are exported;
// - bench-xorshift.expected holds the reference result;
// - where gcc/ld/objcopy exist, guest-images/build.sh rebuilds byte-identical binaries and the
//   C reference reproduces bench-xorshift.expected.
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const guestDir = join(root, 'guest-images');
const buildDir = join(guestDir, 'build');

const DIRECT_IMAGES = ['hello', 'exceptions', 'paging', 'timer', 'smc', 'system', 'bench-xorshift', 'vmx-caps', 'vmx-selftest'];
// Workload programs on the x86vmx libc (guest-images/apps, built by build-apps.sh into build/apps/).
const APPS = ['idle', 'alloc-churn', 'stencil', 'event-sim', 'game-search', 'lz-compress', 'memclear', 'libc-check'];
const ALL_OUTPUTS = [
  ...DIRECT_IMAGES.map((n) => `${n}.elf`),
  'boot32to64.elf',
  'realmode.bin',
  'bochs-boot.bin', // BIOS loader for contract-A images on Bochs (guest-images/tools/bochs)
  'bench-xorshift.expected',
  'kernel.elf', // the guest kernel for static Linux programs (guest-images/kernel)
  ...APPS.map((n) => `apps/${n}.elf`),
];

/** Files under dir, as relative paths with '/' separators, sorted. */
function listFiles(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort();
}

const BENCH_EXPECTED =
  'bench-xorshift: iterations=5000000 seed=0x123456789abcdef1\n' +
  'rax=0x23841fc1f5fb55a1\n' +
  'checksum=0xd2af9672fc863ca2\n';

// The 14 instructions of the benchmark loop, one encoding each (see src/bench-xorshift.S).
const BENCH_LOOP = [
  '4889c2', // mov rdx, rax
  '48c1e20d', // shl rdx, 13
  '4831d0', // xor rax, rdx
  '4889c2', // mov rdx, rax
  '48c1ea07', // shr rdx, 7
  '4831d0', // xor rax, rdx
  '4889c2', // mov rdx, rax
  '48c1e211', // shl rdx, 17
  '4831d0', // xor rax, rdx
  '89c2', // mov edx, eax
  '81e2f8ff0000', // and edx, 0xfff8
  '48010413', // add [rbx + rdx], rax
  'ffc9', // dec ecx
  '75d2', // jnz bench_loop (rel8 -46: back over the 46 bytes of the loop)
];

interface Phdr {
  type: number;
  flags: number;
  offset: number;
  vaddr: bigint;
  paddr: bigint;
  filesz: number;
  memsz: number;
}

interface Elf {
  cls: 1 | 2;
  type: number;
  machine: number;
  entry: bigint;
  phdrs: Phdr[];
  symbols: Map<string, bigint>;
}

function parseElf(buf: Buffer): Elf {
  expect(buf.readUInt32BE(0)).toBe(0x7f454c46);
  const cls = buf[4] as 1 | 2;
  expect(buf[5]).toBe(1); // little-endian
  const is64 = cls === 2;
  const type = buf.readUInt16LE(16);
  const machine = buf.readUInt16LE(18);
  const entry = is64 ? buf.readBigUInt64LE(24) : BigInt(buf.readUInt32LE(24));
  const phoff = is64 ? Number(buf.readBigUInt64LE(32)) : buf.readUInt32LE(28);
  const shoff = is64 ? Number(buf.readBigUInt64LE(40)) : buf.readUInt32LE(32);
  const phentsize = buf.readUInt16LE(is64 ? 54 : 42);
  const phnum = buf.readUInt16LE(is64 ? 56 : 44);
  const shentsize = buf.readUInt16LE(is64 ? 58 : 46);
  const shnum = buf.readUInt16LE(is64 ? 60 : 48);
  const phdrs: Phdr[] = [];
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    phdrs.push(
      is64
        ? {
            type: buf.readUInt32LE(p),
            flags: buf.readUInt32LE(p + 4),
            offset: Number(buf.readBigUInt64LE(p + 8)),
            vaddr: buf.readBigUInt64LE(p + 16),
            paddr: buf.readBigUInt64LE(p + 24),
            filesz: Number(buf.readBigUInt64LE(p + 32)),
            memsz: Number(buf.readBigUInt64LE(p + 40)),
          }
        : {
            type: buf.readUInt32LE(p),
            offset: buf.readUInt32LE(p + 4),
            vaddr: BigInt(buf.readUInt32LE(p + 8)),
            paddr: BigInt(buf.readUInt32LE(p + 12)),
            filesz: buf.readUInt32LE(p + 16),
            memsz: buf.readUInt32LE(p + 20),
            flags: buf.readUInt32LE(p + 24),
          },
    );
  }
  const symbols = new Map<string, bigint>();
  const sh = (i: number) => {
    const s = shoff + i * shentsize;
    return is64
      ? {
          type: buf.readUInt32LE(s + 4),
          offset: Number(buf.readBigUInt64LE(s + 24)),
          size: Number(buf.readBigUInt64LE(s + 32)),
          link: buf.readUInt32LE(s + 40),
          entsize: Number(buf.readBigUInt64LE(s + 56)),
        }
      : {
          type: buf.readUInt32LE(s + 4),
          offset: buf.readUInt32LE(s + 16),
          size: buf.readUInt32LE(s + 20),
          link: buf.readUInt32LE(s + 24),
          entsize: buf.readUInt32LE(s + 36),
        };
  };
  for (let i = 0; i < shnum; i++) {
    const s = sh(i);
    if (s.type !== 2 /* SHT_SYMTAB */) continue;
    const strtab = sh(s.link);
    for (let off = s.offset; off < s.offset + s.size; off += s.entsize) {
      const nameOff = buf.readUInt32LE(off);
      const value = is64 ? buf.readBigUInt64LE(off + 8) : BigInt(buf.readUInt32LE(off + 4));
      const start = strtab.offset + nameOff;
      const name = buf.toString('latin1', start, buf.indexOf(0, start));
      if (name) symbols.set(name, value);
    }
  }
  return { cls, type, machine, entry, phdrs, symbols };
}

function load(name: string): { buf: Buffer; elf: Elf } {
  const buf = readFileSync(join(buildDir, name));
  return { buf, elf: parseElf(buf) };
}

function findMultibootHeader(buf: Buffer): number {
  for (let off = 0; off + 12 <= Math.min(buf.length, 8192); off += 4) {
    if (buf.readUInt32LE(off) === 0x1badb002) return off;
  }
  return -1;
}

function have(tool: string): boolean {
  return spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;
}

describe('guest images (contract A: direct ELF64 boot)', () => {
  for (const image of DIRECT_IMAGES) {
    it(`${image}.elf is an x86-64 ET_EXEC loaded at 1 MiB or above, entry in an executable segment`, () => {
      const { buf, elf } = load(`${image}.elf`);
      expect(elf.cls).toBe(2);
      expect(elf.type).toBe(2); // ET_EXEC
      expect(elf.machine).toBe(62); // EM_X86_64
      const loads = elf.phdrs.filter((p) => p.type === 1);
      expect(loads.length).toBeGreaterThan(0);
      for (const p of loads) {
        expect(p.paddr).toBeGreaterThanOrEqual(0x100000n);
        expect(p.memsz).toBeGreaterThanOrEqual(p.filesz);
      }
      const text = loads.find((p) => (p.flags & 1) !== 0 && elf.entry >= p.paddr && elf.entry < p.paddr + BigInt(p.memsz));
      expect(text).toBeDefined();
      expect(findMultibootHeader(buf)).toBe(-1);
    });
  }

  it('hello.elf carries the exact greeting', () => {
    const { buf } = load('hello.elf');
    expect(buf.includes(Buffer.from('Hello from x86vmx\n\0', 'latin1'))).toBe(true);
  });
});

describe('boot32to64.elf (contract B: multiboot v1)', () => {
  it('is an ELF32 i386 executable with a valid multiboot header in its first 8 KiB', () => {
    const { buf, elf } = load('boot32to64.elf');
    expect(elf.cls).toBe(1);
    expect(elf.type).toBe(2);
    expect(elf.machine).toBe(3); // EM_386
    const off = findMultibootHeader(buf);
    expect(off).toBeGreaterThanOrEqual(0);
    const magic = buf.readUInt32LE(off);
    const flags = buf.readUInt32LE(off + 4);
    const checksum = buf.readUInt32LE(off + 8);
    expect((magic + flags + checksum) >>> 0).toBe(0);
    expect(flags & 0x10000).toBe(0); // no address fields: the loader uses the ELF headers
    expect(flags & 0x2).toBe(2); // asks for mem_lower/mem_upper
    for (const p of elf.phdrs.filter((q) => q.type === 1)) {
      expect(p.paddr).toBeGreaterThanOrEqual(0x100000n); // 0..0xFFFF belongs to the loader
      expect(p.paddr + BigInt(p.memsz)).toBeLessThanOrEqual(0x100000000n);
    }
  });
});

describe('kernel.elf (the guest kernel for static Linux programs: multiboot v1, ELF64, higher half)', () => {
  it('is an ELF64 x86-64 executable with a valid multiboot header, loaded at 1 MiB, entered at its 32-bit entry', () => {
    const { buf, elf } = load('kernel.elf');
    expect(elf.cls).toBe(2);
    expect(elf.type).toBe(2);
    expect(elf.machine).toBe(62);
    const off = findMultibootHeader(buf);
    expect(off).toBeGreaterThanOrEqual(0);
    expect(off).toBeLessThan(8192);
    const flags = buf.readUInt32LE(off + 4);
    expect((buf.readUInt32LE(off) + flags + buf.readUInt32LE(off + 8)) >>> 0).toBe(0);
    expect(flags & 0x10000).toBe(0);
    const loads = elf.phdrs.filter((p) => p.type === 1);
    for (const p of loads) {
      expect(p.paddr).toBeGreaterThanOrEqual(0x100000n);
      expect(p.paddr + BigInt(p.memsz)).toBeLessThan(0x40000000n);
    }
    // the 32-bit entry runs at its physical address; the rest is linked at 0xFFFFFFFF80000000 + phys
    expect(elf.entry).toBe(elf.symbols.get('_start32'));
    expect(loads.some((p) => p.vaddr === p.paddr && elf.entry >= p.vaddr && elf.entry < p.vaddr + BigInt(p.memsz))).toBe(true);
    expect(elf.symbols.get('freelist')).toBe(0xffffffff80101000n); // free-list header at physical 0x101000
  });
});

describe('bench-xorshift.elf', () => {
  it('exports its iteration count and seed', () => {
    const { elf } = load('bench-xorshift.elf');
    expect(elf.symbols.get('bench_iterations')).toBe(5_000_000n);
    expect(elf.symbols.get('bench_seed')).toBe(0x123456789abcdef1n);
  });

  it('has exactly the 14-instruction loop between bench_loop and bench_loop_end', () => {
    const { buf, elf } = load('bench-xorshift.elf');
    const start = elf.symbols.get('bench_loop')!;
    const end = elf.symbols.get('bench_loop_end')!;
    const seg = elf.phdrs.find((p) => p.type === 1 && start >= p.vaddr && end <= p.vaddr + BigInt(p.filesz))!;
    expect(seg).toBeDefined();
    const fileStart = seg.offset + Number(start - seg.vaddr);
    const bytes = buf.subarray(fileStart, fileStart + Number(end - start)).toString('hex');
    expect(BENCH_LOOP.length).toBe(14);
    expect(bytes).toBe(BENCH_LOOP.join(''));
  });

  it('bench-xorshift.expected holds the reference output', () => {
    expect(readFileSync(join(buildDir, 'bench-xorshift.expected'), 'latin1')).toBe(BENCH_EXPECTED);
  });

  it.skipIf(!have('gcc'))('the C reference reproduces the expected output', () => {
    const dir = mkdtempSync(join(tmpdir(), 'x86vmx-benchref-'));
    try {
      const exe = join(dir, 'bench-xorshift-ref');
      execFileSync('gcc', ['-O2', '-std=c99', '-o', exe, join(guestDir, 'src', 'bench-xorshift-ref.c')]);
      expect(execFileSync(exe, { encoding: 'latin1' })).toBe(BENCH_EXPECTED);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('guest-images/build.sh', () => {
  const toolchain = have('gcc') && have('ld') && have('objcopy');
  it.skipIf(!toolchain)(
    'rebuilds byte-identical binaries from the sources',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'x86vmx-guests-'));
      try {
        execFileSync('bash', [join(guestDir, 'build.sh'), dir], { stdio: 'pipe' });
        expect(listFiles(dir)).toEqual([...ALL_OUTPUTS].sort());
        for (const name of ALL_OUTPUTS) {
          const rebuilt = readFileSync(join(dir, name));
          const committed = readFileSync(join(buildDir, name));
          expect(rebuilt.equals(committed), `${name} differs from the committed build; run npm run build:guests`).toBe(true);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    60_000,
  );
});
