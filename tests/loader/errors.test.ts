import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../../emulator/memory/physical.ts';
import { ImageError, type BootState } from '../../emulator/loader/types.ts';
import { loadElf64 } from '../../emulator/loader/elf64.ts';
import { loadMultiboot } from '../../emulator/loader/multiboot.ts';
import { loadFlat } from '../../emulator/loader/flat.ts';
import { describeImage, isStaticLinuxElf, loadImage } from '../../emulator/loader/detect.ts';
import { concat, elf32, elf64, mbHeader, pattern, prng, randomBytes, type ElfSpec } from './build.ts';

const MiB = 1024 * 1024;

const good64: ElfSpec = { entry: 0x100000, phdrs: [{ paddr: 0x100000, data: pattern(0x40, 1), memsz: 0x80 }] };
const mbText = (flags = 0): Uint8Array => concat(mbHeader(flags), pattern(0x40, 2));
const good32mb: ElfSpec = { entry: 0x100000, phdrs: [{ paddr: 0x100000, data: mbText() }] };

type Loader = (mem: PhysicalMemory, bytes: Uint8Array) => BootState;
const viaImage: Loader = (m, b) => loadImage(m, b);

interface Case {
  name: string;
  bytes: () => Uint8Array;
  load: Loader;
  ram?: number;
  message: RegExp;
}

const cases: Case[] = [
  // --- generic ---
  { name: 'empty file (loadImage)', bytes: () => new Uint8Array(0), load: viaImage, message: /^empty image \(0 bytes\)$/ },
  { name: 'empty file (loadElf64)', bytes: () => new Uint8Array(0), load: loadElf64, message: /^empty image/ },
  { name: 'empty file (loadMultiboot)', bytes: () => new Uint8Array(0), load: (m, b) => loadMultiboot(m, b), message: /^empty image/ },
  { name: 'raw bytes (loadImage)', bytes: () => pattern(300, 1), load: viaImage, message: /^not an ELF file and no multiboot header; use --flat ADDR for raw binaries$/ },
  // --- ELF identification and header ---
  { name: 'truncated e_ident', bytes: () => elf64(good64).subarray(0, 10), load: loadElf64, message: /^truncated ELF identification: the file is 10 bytes/ },
  { name: 'truncated e_ident (loadImage)', bytes: () => elf64(good64).subarray(0, 7), load: viaImage, message: /^truncated ELF identification/ },
  { name: 'truncated ELF64 header', bytes: () => elf64(good64).subarray(0, 40), load: loadElf64, message: /^truncated ELF header: the file is 40 bytes, the ELF64 header needs 64/ },
  { name: 'truncated ELF32 header', bytes: () => { const b = new Uint8Array(40); b.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1], 0); b.set(mbHeader(0), 16); return b; }, load: viaImage, message: /^truncated ELF header: the file is 40 bytes, the ELF32 header needs 52$/ },
  { name: 'bad magic', bytes: () => { const b = elf64(good64); b[1] = 0x46; return b; }, load: loadElf64, message: /^bad ELF magic: expected 7f 45 4c 46, found 7f 46 4c 46/ },
  { name: 'bad class', bytes: () => elf64({ ...good64, cls: 3 }), load: loadElf64, message: /^bad ELF class 3/ },
  { name: 'ELF32 given to the ELF64 loader', bytes: () => elf32({ entry: 0x100000, phdrs: [{ paddr: 0x100000, data: pattern(16, 1) }] }), load: viaImage, message: /^wrong ELF class: ELF32, direct ELF64 boot needs ELF64/ },
  { name: 'big-endian', bytes: () => elf64({ ...good64, data: 2 }), load: loadElf64, message: /^wrong ELF data encoding 2: only little-endian/ },
  { name: 'bad EI_VERSION', bytes: () => elf64({ ...good64, identVersion: 0 }), load: loadElf64, message: /^bad ELF identification version 0/ },
  { name: 'wrong machine (AArch64)', bytes: () => elf64({ ...good64, machine: 183 }), load: viaImage, message: /^wrong ELF machine EM_AARCH64 \(183\): direct ELF64 boot needs EM_X86_64 \(62\)/ },
  { name: 'wrong machine (EM_386 in ELF64)', bytes: () => elf64({ ...good64, machine: 3 }), load: loadElf64, message: /^wrong ELF machine EM_386 \(3\)/ },
  { name: 'ET_DYN for direct boot', bytes: () => elf64({ ...good64, type: 3 }), load: loadElf64, message: /^wrong ELF type ET_DYN: direct ELF64 boot needs ET_EXEC/ },
  { name: 'ET_REL', bytes: () => elf64({ ...good64, type: 1 }), load: loadElf64, message: /^wrong ELF type ET_REL/ },
  { name: 'bad e_version', bytes: () => elf64({ ...good64, version: 7 }), load: loadElf64, message: /^bad ELF version: e_version is 7/ },
  // --- program header table ---
  { name: 'no program headers', bytes: () => elf64({ ...good64, phnumOverride: 0 }), load: loadElf64, message: /^no program headers: e_phnum is 0$/ },
  { name: 'PN_XNUM', bytes: () => elf64({ ...good64, phnumOverride: 0xffff }), load: loadElf64, message: /PN_XNUM/ },
  { name: 'e_phoff 0', bytes: () => elf64({ ...good64, phoffOverride: 0 }), load: loadElf64, message: /^program header table offset e_phoff is 0$/ },
  { name: 'bad e_phentsize', bytes: () => elf64({ ...good64, phentsize: 20 }), load: loadElf64, message: /^bad e_phentsize 20: ELF64 program headers are 56 bytes/ },
  { name: 'program header table beyond the end of the file', bytes: () => elf64({ ...good64, phnumOverride: 40 }), load: loadElf64, message: /^program header table \[0x40, 0x900\) extends beyond the end of the file/ },
  { name: 'huge e_phoff', bytes: () => elf64({ ...good64, phoffOverride: 0xffffffffffffff00n }), load: loadElf64, message: /^program header table .* extends beyond the end of the file/ },
  { name: 'truncated program header table', bytes: () => elf64({ ...good64, phdrs: [...good64.phdrs, { paddr: 0x200000, data: pattern(8, 1) }] }).subarray(0, 64 + 56 + 30), load: loadElf64, message: /^program header table \[0x40, 0xb0\) extends beyond the end of the file \(150 bytes\)/ },
  // --- segments ---
  { name: 'segment beyond the end of the file', bytes: () => elf64({ entry: 0x100000, phdrs: [{ paddr: 0x100000, offset: 0x80, filesz: 0x1000, data: pattern(16, 1) }] }), load: loadElf64, message: /^PT_LOAD segment 0: file bytes \[0x80, 0x1080\) extend beyond the end of the file \(144 bytes\)$/ },
  { name: 'segment data truncated (file cut short)', bytes: () => { const b = elf64(good64); return b.subarray(0, b.length - 1); }, load: loadElf64, message: /^PT_LOAD segment 0: file bytes .* beyond the end of the file/ },
  { name: 'p_filesz > p_memsz', bytes: () => elf64({ entry: 0x100000, phdrs: [{ paddr: 0x100000, data: pattern(0x40, 1), memsz: 0x20 }] }), load: loadElf64, message: /^PT_LOAD segment 0: p_filesz 0x40 is larger than p_memsz 0x20$/ },
  { name: 'segment beyond RAM', bytes: () => elf64({ entry: 0x300000, phdrs: [{ paddr: 0x300000, data: pattern(16, 1) }] }), load: loadElf64, ram: 2 * MiB, message: /^PT_LOAD segment 0 \[0x300000, 0x300010\) is outside RAM \(RAM is 2 MiB/ },
  { name: 'segment straddling the end of RAM', bytes: () => elf64({ entry: 0x1ffff0, phdrs: [{ paddr: 0x1ffff0, data: pattern(32, 1) }] }), load: loadElf64, ram: 2 * MiB, message: /is outside RAM/ },
  { name: 'bss beyond RAM', bytes: () => elf64({ entry: 0x100000, phdrs: [{ paddr: 0x100000, data: pattern(32, 1), memsz: 0x200000 }] }), load: loadElf64, ram: 2 * MiB, message: /^PT_LOAD segment 0 \[0x100000, 0x300000\) is outside RAM/ },
  { name: 'segment above 4 GiB', bytes: () => elf64({ entry: 0x100000, phdrs: [{ paddr: 0x100000000, data: pattern(16, 1) }] }), load: loadElf64, message: /ends above 4 GiB \(the initial page tables identity-map only 0..4 GiB\)/ },
  { name: 'p_paddr beyond 2^53', bytes: () => elf64({ entry: 0x100000, phdrs: [{ paddr: 0xfff0000000000000n, data: pattern(16, 1) }] }), load: loadElf64, message: /^PT_LOAD segment 0: p_paddr 0xfff0000000000000 is too large$/ },
  { name: 'p_memsz beyond 2^53', bytes: () => elf64({ entry: 0x100000, phdrs: [{ paddr: 0x100000, data: pattern(16, 1), memsz: 2 ** 60 }] }), load: loadElf64, message: /^PT_LOAD segment 0: p_memsz 0x1000000000000000 is too large$/ },
  { name: 'segment in the reserved area', bytes: () => elf64({ entry: 0x7000, phdrs: [{ paddr: 0x7000, data: pattern(16, 1) }] }), load: loadElf64, message: /^PT_LOAD segment 0 \[0x7000, 0x7010\) overlaps the loader's reserved area \[0x0, 0x8000\)/ },
  { name: 'second segment in the reserved area', bytes: () => elf64({ entry: 0x100000, phdrs: [{ paddr: 0x100000, data: pattern(16, 1) }, { paddr: 0x400, data: pattern(4, 1) }] }), load: loadElf64, message: /^PT_LOAD segment 1 .* reserved area/ },
  { name: 'overlapping segments', bytes: () => elf64({ entry: 0x100000, phdrs: [{ paddr: 0x100000, data: pattern(0x100, 1) }, { paddr: 0x1000f0, data: pattern(0x10, 2) }] }), load: loadElf64, message: /^PT_LOAD segment 0 \[0x100000, 0x100100\) and PT_LOAD segment 1 \[0x1000f0, 0x100100\) overlap$/ },
  { name: 'entry outside every segment', bytes: () => elf64({ ...good64, entry: 0x400000 }), load: loadElf64, message: /^entry point e_entry 0x400000 is not inside any PT_LOAD segment's physical range/ },
  { name: 'no PT_LOAD', bytes: () => elf64({ entry: 0x100000, phdrs: [{ type: 4, paddr: 0x100000, data: pattern(16, 1) }] }), load: loadElf64, message: /^no loadable segments/ },
  { name: 'RAM too small', bytes: () => elf64({ entry: 0x10000, phdrs: [{ paddr: 0x10000, data: pattern(16, 1) }] }), load: loadElf64, ram: 1 * MiB, message: /^RAM too small: direct ELF64 boot needs at least 2 MiB, the machine has 1 MiB$/ },
  // --- multiboot ---
  { name: 'multiboot bad checksum (raw file)', bytes: () => concat(new Uint8Array(16), mbHeader(0x10000, { header: 0x100010, load: 0x100000, loadEnd: 0, bssEnd: 0, entry: 0x100000 }, 1)), load: viaImage, message: /^multiboot header at offset 0x10 has a bad checksum: magic \+ flags \+ checksum = 0x1, must be 0/ },
  { name: 'multiboot bad checksum (ELF32)', bytes: () => elf32({ entry: 0x100000, phdrs: [{ paddr: 0x100000, data: concat(mbHeader(0, undefined, 5), pattern(8, 1)) }] }), load: viaImage, message: /has a bad checksum: magic \+ flags \+ checksum = 0x5/ },
  { name: 'no multiboot header', bytes: () => elf32(good32mb).map((b, i) => (i >= 0x60 ? 0 : b)), load: (m, b) => loadMultiboot(m, b), message: /^no multiboot header: no 4-byte-aligned magic 0x1badb002/ },
  { name: 'multiboot unsupported required flag', bytes: () => elf32({ entry: 0x100000, phdrs: [{ paddr: 0x100000, data: mbText(0x23) }] }), load: viaImage, message: /^multiboot header flags 0x23 request unsupported required feature bit\(s\) 5 / },
  { name: 'multiboot ELF64 with the wrong machine', bytes: () => elf64({ entry: 0x100000, machine: 3, phdrs: [{ paddr: 0x100000, data: mbText() }] }), load: viaImage, message: /^wrong ELF machine EM_386 \(3\): a multiboot kernel .* needs EM_X86_64 \(62\) for ELF64/ },
  { name: 'multiboot ELF32 x86-64 machine', bytes: () => elf32({ entry: 0x100000, machine: 62, phdrs: [{ paddr: 0x100000, data: mbText() }] }), load: viaImage, message: /^wrong ELF machine EM_X86_64 \(62\).* needs EM_386 \(3\) for ELF32/ },
  { name: 'multiboot ELF32 segment beyond the file', bytes: () => elf32({ entry: 0x100000, phdrs: [{ paddr: 0x100000, data: mbText(), filesz: 0x400 }] }), load: viaImage, message: /^PT_LOAD segment 0: file bytes .* beyond the end of the file/ },
  { name: 'multiboot kernel in the boot area', bytes: () => elf32({ entry: 0x9000, phdrs: [{ paddr: 0x9000, data: mbText() }] }), load: viaImage, message: /^PT_LOAD segment 0 \[0x9000, 0x904c\) overlaps the loader's reserved area \[0x0, 0x10000\)/ },
  { name: 'multiboot kernel beyond RAM', bytes: () => elf32({ entry: 0x300000, phdrs: [{ paddr: 0x300000, data: mbText() }] }), load: viaImage, ram: 2 * MiB, message: /is outside RAM/ },
  { name: 'multiboot entry outside the segments', bytes: () => elf32({ entry: 0x500000, phdrs: [{ paddr: 0x100000, data: mbText() }] }), load: viaImage, message: /^entry point e_entry 0x500000 is not inside any PT_LOAD segment \(neither its p_vaddr nor its p_paddr range\)$/ },
  { name: 'multiboot ELF64 entry above 4 GiB', bytes: () => elf64({ entry: 0x100000010n, phdrs: [{ paddr: 0x100000000n, data: mbText() }] }), load: viaImage, message: /^entry point e_entry 0x100000010 is at physical 0x100000010, above 4 GiB/ },
  { name: 'a.out: address fields truncated', bytes: () => concat(new Uint8Array(8), mbHeader(0x10000)), load: viaImage, message: /^multiboot header at offset 0x8 sets flags bit 16 \(address fields\) but the fields \[0x14, 0x28\) lie beyond the end of the file/ },
  { name: 'a.out: load_addr above header_addr', bytes: () => mbHeader(0x10000, { header: 0x100000, load: 0x100010, loadEnd: 0, bssEnd: 0, entry: 0x100000 }), load: viaImage, message: /load_addr 0x100010 is above header_addr 0x100000/ },
  { name: 'a.out: text before the start of the file', bytes: () => concat(new Uint8Array(4), mbHeader(0x10000, { header: 0x100010, load: 0x100000, loadEnd: 0, bssEnd: 0, entry: 0x100010 })), load: viaImage, message: /header_addr - load_addr = 0x10 puts the start of the text before the beginning of the file/ },
  { name: 'a.out: load_end_addr below load_addr', bytes: () => mbHeader(0x10000, { header: 0x100000, load: 0x100000, loadEnd: 0xff000, bssEnd: 0, entry: 0x100000 }), load: viaImage, message: /load_end_addr 0xff000 is below load_addr 0x100000/ },
  { name: 'a.out: load_end_addr beyond the end of the file', bytes: () => mbHeader(0x10000, { header: 0x100000, load: 0x100000, loadEnd: 0x101000, bssEnd: 0, entry: 0x100000 }), load: viaImage, message: /load_end_addr 0x101000 needs file bytes \[0x0, 0x1000\) beyond the end of the file \(32 bytes\)/ },
  { name: 'a.out: bss_end_addr below load_end_addr', bytes: () => mbHeader(0x10000, { header: 0x100000, load: 0x100000, loadEnd: 0x100020, bssEnd: 0x100010, entry: 0x100000 }), load: viaImage, message: /bss_end_addr 0x100010 is below the end of the loaded data 0x100020/ },
  { name: 'a.out: entry outside the image', bytes: () => mbHeader(0x10000, { header: 0x100000, load: 0x100000, loadEnd: 0, bssEnd: 0, entry: 0x200000 }), load: viaImage, message: /entry_addr 0x200000 is outside the loaded image \[0x100000, 0x100020\)/ },
  { name: 'a.out: bss beyond RAM', bytes: () => mbHeader(0x10000, { header: 0x100000, load: 0x100000, loadEnd: 0, bssEnd: 0x400000, entry: 0x100000 }), load: viaImage, ram: 2 * MiB, message: /multiboot kernel image \(address fields\) \[0x100000, 0x400000\) is outside RAM/ },
  { name: 'a.out: load at 0 (reserved)', bytes: () => mbHeader(0x10000, { header: 0x0, load: 0x0, loadEnd: 0, bssEnd: 0, entry: 0x0 }), load: viaImage, message: /overlaps the loader's reserved area \[0x0, 0x10000\)/ },
  { name: 'multiboot module too large for RAM', bytes: () => elf32(good32mb), load: (m, b) => loadMultiboot(m, b, { modules: [{ data: new Uint8Array(0x200000), cmdline: 'big' }] }), ram: 2 * MiB, message: /^module 0 \(2097152 bytes\) does not fit: it would occupy \[0x101000, 0x301000\), RAM is 2 MiB$/ },
  { name: 'multiboot boot information overflow', bytes: () => elf32(good32mb), load: (m, b) => loadMultiboot(m, b, { cmdline: 'x'.repeat(40000) }), message: /^boot information does not fit in the boot area \[0x8000, 0x10000\)/ },
  { name: 'multiboot RAM too small', bytes: () => elf32(good32mb), load: (m, b) => loadMultiboot(m, b), ram: 1 * MiB, message: /^RAM too small: multiboot boot needs at least 2 MiB/ },
  // --- flat and detection options ---
  { name: 'flat: empty', bytes: () => new Uint8Array(0), load: (m, b) => loadImage(m, b, { flatAddress: 0x7c00 }), message: /^empty image \(0 bytes\)$/ },
  { name: 'flat: real16 above 1 MiB', bytes: () => pattern(16, 1), load: (m, b) => loadFlat(m, b, { address: 0x100000 }), message: /^real16 flat image must start below 1 MiB/ },
  { name: 'flat: beyond RAM', bytes: () => pattern(0x20, 1), load: (m, b) => loadImage(m, b, { flatAddress: 0xffff0, flatMode: 'real16' }), ram: 1 * MiB, message: /^flat image \(32 bytes\) \[0xffff0, 0x100010\) is outside RAM/ },
  { name: 'flat: long64 in the reserved area', bytes: () => pattern(16, 1), load: (m, b) => loadImage(m, b, { flatAddress: 0x1000, flatMode: 'long64' }), message: /^flat image \(16 bytes\) \[0x1000, 0x1010\) overlaps the loader's reserved area \[0x0, 0x8000\)/ },
  { name: 'flat: negative address', bytes: () => pattern(16, 1), load: (m, b) => loadFlat(m, b, { address: -16 }), message: /^flat load address must be a non-negative integer, got -16$/ },
  { name: 'flat: fractional address', bytes: () => pattern(16, 1), load: (m, b) => loadFlat(m, b, { address: 0.5 }), message: /^flat load address must be a non-negative integer/ },
  { name: 'modules for a non-multiboot image', bytes: () => elf64(good64), load: (m, b) => loadImage(m, b, { modules: [{ data: pattern(4, 1), cmdline: '' }] }), message: /^a command line and boot modules are only passed to multiboot kernels, not to direct ELF64 boot$/ },
  { name: 'cmdline for a flat binary', bytes: () => pattern(16, 1), load: (m, b) => loadImage(m, b, { flatAddress: 0x7c00, cmdline: 'x' }), message: /only passed to multiboot kernels, not to flat binaries/ },
];

const zeros = new Map<number, Buffer>();
function ramIsZero(mem: PhysicalMemory): boolean {
  let z = zeros.get(mem.ramSize);
  if (!z) zeros.set(mem.ramSize, (z = Buffer.alloc(mem.ramSize)));
  return Buffer.from(mem.buffer).equals(z);
}

function expectImageError(mem: PhysicalMemory, f: () => unknown, message?: RegExp): ImageError {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected an ImageError').toBeInstanceOf(ImageError);
  if (message) expect((err as Error).message).toMatch(message);
  expect(ramIsZero(mem), 'RAM must be untouched after a refused image').toBe(true);
  return err as ImageError;
}

describe('malformed images are refused with an ImageError naming the check, RAM untouched', () => {
  for (const c of cases) {
    it(c.name, () => {
      const mem = new PhysicalMemory(c.ram ?? 4 * MiB);
      const bytes = c.bytes();
      expectImageError(mem, () => c.load(mem, bytes), c.message);
      // describeImage never throws on the same input
      expect(typeof describeImage(bytes)).toBe('string');
    });
  }

  it('a good image still loads after every refusal (sanity: the cases differ only in the broken field)', () => {
    expect(() => loadElf64(new PhysicalMemory(4 * MiB), elf64(good64))).not.toThrow();
    expect(() => loadImage(new PhysicalMemory(4 * MiB), elf32(good32mb))).not.toThrow();
  });
});

describe('random and mutated inputs never escape as anything but ImageError', () => {
  const mem = new PhysicalMemory(2 * MiB);
  const reset = (): void => {
    mem.u8.fill(0);
  };

  /** Run a loader; it must return a BootState or throw an ImageError leaving RAM zero. */
  function attempt(f: () => BootState): 'ok' | 'refused' {
    reset();
    try {
      const s = f();
      expect(typeof s.rip).toBe('number');
      return 'ok';
    } catch (e) {
      if (!(e instanceof ImageError)) throw new Error(`escaped as ${(e as Error)?.name}: ${(e as Error)?.message}`);
      if (!ramIsZero(mem)) throw new Error(`RAM written before refusing: ${e.message}`);
      return 'refused';
    }
  }

  it('1000 random-byte buffers', () => {
    const rand = prng(12345);
    for (let i = 0; i < 1000; i++) {
      const n = i % 10 === 0 ? rand() % 9000 : rand() % 300;
      const bytes = randomBytes(rand, n);
      for (const load of [viaImage, loadElf64, (m: PhysicalMemory, b: Uint8Array) => loadMultiboot(m, b)]) {
        expect(attempt(() => load(mem, bytes))).toBe('refused');
      }
      expect(isStaticLinuxElf(bytes)).toBe(false);
      describeImage(bytes);
    }
  });

  it('1000 random buffers behind a valid ELF64 identification', () => {
    const rand = prng(777);
    for (let i = 0; i < 1000; i++) {
      const bytes = randomBytes(rand, 24 + (rand() % 400));
      bytes.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0);
      if (i % 2) bytes.set([2, 0, 62, 0, 1, 0, 0, 0], 16); // ET_EXEC, EM_X86_64, EV_CURRENT
      expect(attempt(() => loadImage(mem, bytes))).toBe('refused');
      isStaticLinuxElf(bytes);
      describeImage(bytes);
    }
  });

  it('byte mutations of valid ELF64, ELF32-multiboot and a.out-multiboot images', () => {
    const rand = prng(4242);
    const seeds = [
      elf64({ entry: 0x100010, phdrs: [{ paddr: 0x100000, data: pattern(0x40, 1) }, { paddr: 0x180000, data: pattern(0x20, 2), memsz: 0x1000 }] }),
      elf32({ entry: 0x100000, phdrs: [{ paddr: 0x100000, data: mbText(3) }, { paddr: 0x110000, data: pattern(8, 3), memsz: 0x100 }] }),
      elf64({ entry: 0x100000, phdrs: [{ paddr: 0x100000, data: mbText(0) }] }),
      concat(pattern(0x20, 1), mbHeader(0x10003, { header: 0x100020, load: 0x100000, loadEnd: 0, bssEnd: 0x101000, entry: 0x100000 }), pattern(0x40, 2)),
    ];
    for (const seed of seeds) expect(attempt(() => loadImage(mem, seed))).toBe('ok');
    const tally = { ok: 0, refused: 0 };
    for (let i = 0; i < 4000; i++) {
      const seed = seeds[i % seeds.length];
      const bytes = seed.slice();
      const flips = 1 + (rand() % 4);
      for (let f = 0; f < flips; f++) {
        // Mostly hit the headers, where the checks are.
        const at = rand() % 2 ? rand() % Math.min(bytes.length, 0xa0) : rand() % bytes.length;
        bytes[at] = rand() % 3 === 0 ? 0xff : rand() & 0xff;
      }
      const cut = rand() % 8 === 0 ? rand() % bytes.length : bytes.length;
      const opts = i % 3 ? {} : { modules: [{ data: pattern(100, 1), cmdline: 'm' }] };
      tally[attempt(() => loadImage(mem, bytes.subarray(0, cut), opts))]++;
      describeImage(bytes.subarray(0, cut));
    }
    expect(tally.ok).toBeGreaterThan(0);
    expect(tally.refused).toBeGreaterThan(0);
  });

  it('every truncation of a valid ELF64 image is refused', () => {
    const img = elf64({ entry: 0x100000, phdrs: [{ paddr: 0x100000, data: pattern(0x40, 1) }] });
    for (let n = 0; n < img.length; n++) expect(attempt(() => loadElf64(mem, img.subarray(0, n)))).toBe('refused');
    expect(attempt(() => loadElf64(mem, img))).toBe('ok');
  });
});
