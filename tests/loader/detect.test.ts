import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../../emulator/memory/physical.ts';
import { describeImage, detectImageKind, isStaticLinuxElf, loadImage } from '../../emulator/loader/detect.ts';
import { concat, elf32, elf64, mbHeader, pattern } from './build.ts';

const MiB = 1024 * 1024;
const plain64 = (): Uint8Array => elf64({ entry: 0x100000, phdrs: [{ paddr: 0x100000, data: pattern(0x40, 1) }] });
const mb32 = (): Uint8Array => elf32({ entry: 0x100000, phdrs: [{ paddr: 0x100000, data: concat(mbHeader(3), pattern(0x20, 1)) }] });
const mb64 = (): Uint8Array => elf64({ entry: 0x100000, phdrs: [{ paddr: 0x100000, data: concat(mbHeader(3), pattern(0x20, 1)) }] });

describe('loadImage routing', () => {
  it('ELF64 without a multiboot header -> direct long-mode boot', () => {
    const s = loadImage(new PhysicalMemory(4 * MiB), plain64());
    expect(s.mode).toBe('long64');
    expect(detectImageKind(plain64())).toBe('elf');
  });

  it('ELF32 with a multiboot header -> multiboot', () => {
    const s = loadImage(new PhysicalMemory(4 * MiB), mb32(), { cmdline: 'a b', modules: [{ data: pattern(10, 1), cmdline: 'm' }] });
    expect(s.mode).toBe('protected32');
    expect(s.regs.rax).toBe(0x2badb002);
    expect(detectImageKind(mb32())).toBe('multiboot');
  });

  it('ELF64 with a multiboot header -> multiboot (the header wins)', () => {
    expect(loadImage(new PhysicalMemory(4 * MiB), mb64()).mode).toBe('protected32');
  });

  it('a raw file with a multiboot header using address fields -> multiboot', () => {
    const img = concat(mbHeader(0x10000, { header: 0x100000, load: 0x100000, loadEnd: 0, bssEnd: 0, entry: 0x100020 }), pattern(0x40, 1));
    const s = loadImage(new PhysicalMemory(4 * MiB), img);
    expect(s.mode).toBe('protected32');
    expect(s.rip).toBe(0x100020);
  });

  it('flatAddress forces a flat load, even of an ELF file', () => {
    const mem = new PhysicalMemory(4 * MiB);
    const img = plain64();
    const s = loadImage(mem, img, { flatAddress: 0x7c00 });
    expect(s.mode).toBe('real16');
    expect(mem.u8.subarray(0x7c00, 0x7c00 + img.length)).toEqual(img);
    const t = loadImage(new PhysicalMemory(4 * MiB), img, { flatAddress: 0x200000, flatMode: 'long64' });
    expect(t.mode).toBe('long64');
    expect(t.rip).toBe(0x200000);
  });

  it('an ELF64 x86-64 image with a stray bad-checksum magic is still loaded directly', () => {
    const data = concat(mbHeader(0, undefined, 9), pattern(0x20, 1));
    const img = elf64({ entry: 0x100000, phdrs: [{ paddr: 0x100000, data }] });
    expect(loadImage(new PhysicalMemory(4 * MiB), img).mode).toBe('long64');
  });
});

describe('isStaticLinuxElf', () => {
  it('accepts an ELF64 x86-64 ET_EXEC without PT_INTERP and without a multiboot header', () => {
    expect(isStaticLinuxElf(plain64())).toBe(true);
  });
  it('refuses PT_INTERP, multiboot headers, ELF32, ET_DYN, other machines and junk', () => {
    const interp = elf64({ entry: 0x400000, phdrs: [{ type: 3, paddr: 0, data: new TextEncoder().encode('/lib64/ld-linux-x86-64.so.2\0') }, { paddr: 0x400000, data: pattern(16, 1) }] });
    expect(isStaticLinuxElf(interp)).toBe(false);
    expect(isStaticLinuxElf(mb64())).toBe(false);
    expect(isStaticLinuxElf(mb32())).toBe(false);
    expect(isStaticLinuxElf(elf64({ entry: 0x1000, type: 3, phdrs: [{ paddr: 0x1000, data: pattern(16, 1) }] }))).toBe(false);
    expect(isStaticLinuxElf(elf64({ entry: 0x1000, machine: 183, phdrs: [{ paddr: 0x1000, data: pattern(16, 1) }] }))).toBe(false);
    expect(isStaticLinuxElf(new Uint8Array(0))).toBe(false);
    expect(isStaticLinuxElf(plain64().subarray(0, 100))).toBe(false);
  });
});

describe('describeImage', () => {
  it('says what each kind of image is', () => {
    expect(describeImage(plain64())).toMatch(/^ELF64 EM_X86_64 \(62\) ET_EXEC, entry 0x100000, 1 PT_LOAD segment\(s\) \[0x100000, 0x100040\) r-x, no PT_INTERP; static x86-64/);
    expect(describeImage(mb32())).toMatch(/^multiboot v1 kernel \(header at offset 0x60, flags 0x3\): ELF32 EM_386/);
    expect(describeImage(new Uint8Array(0))).toBe('empty image (0 bytes)');
    expect(describeImage(pattern(512, 1))).toMatch(/^raw binary, 512 bytes \(no ELF magic, no multiboot header; load with --flat ADDR\)$/);
    expect(describeImage(plain64().subarray(0, 30))).toMatch(/^ELF file, not loadable: truncated ELF header/);
  });
});

// Real toolchain output, when binutils is installed (hand-built images above cover the rest).
const hasBinutils = ['as', 'ld'].every((t) => spawnSync(t, ['--version'], { stdio: 'ignore' }).status === 0);

describe.skipIf(!hasBinutils)('images built by GNU as/ld', () => {
  const dir = mkdtempSync(join(tmpdir(), 'x86vmx-loader-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const run = (cmd: string, args: string[]): void => {
    const r = spawnSync(cmd, args, { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  };

  it('a static ELF64 linked at 1 MiB (ld also loads its ELF headers at 0xff000)', () => {
    writeFileSync(
      join(dir, 'k64.S'),
      '.text\n.globl _start\n_start:\n mov $0x3f8, %dx\n mov $0x41, %al\n out %al, %dx\n hlt\n.data\n.asciz "hello"\n.bss\n.skip 4096\n',
    );
    run('as', ['--64', 'k64.S', '-o', 'k64.o']);
    run('ld', ['-static', '-nostdlib', '-e', '_start', '-Ttext=0x100000', '--build-id=none', 'k64.o', '-o', 'k64.elf']);
    const img = new Uint8Array(readFileSync(join(dir, 'k64.elf')));
    expect(isStaticLinuxElf(img)).toBe(true);
    const mem = new PhysicalMemory(4 * MiB);
    const s = loadImage(mem, img);
    expect(s.mode).toBe('long64');
    expect(s.rip).toBe(0x100000);
    // 66 ba f8 03 = mov $0x3f8,%dx; b0 41 = mov $0x41,%al; ee = out; f4 = hlt (SDM Vol. 2 encodings)
    expect(Array.from(mem.u8.subarray(0x100000, 0x100008))).toEqual([0x66, 0xba, 0xf8, 0x03, 0xb0, 0x41, 0xee, 0xf4]);
    const data = mem.u8.indexOf(0x68, 0x100008); // 'h' of "hello" in the data segment
    expect(new TextDecoder().decode(mem.u8.subarray(data, data + 5))).toBe('hello');
  });

  const mbSource =
    '.section .multiboot, "a"\n.align 4\n.long 0x1BADB002\n.long 3\n.long -(0x1BADB002 + 3)\n' +
    '.text\n.globl _start\n_start:\n mov $0x9000, %esp\n hlt\n.bss\n.skip 8192\n';
  const script = 'ENTRY(_start)\nSECTIONS {\n . = 0x100000;\n .text : { *(.multiboot) *(.text) }\n .data : { *(.data) }\n .bss : { *(.bss) }\n}\n';

  for (const [bits, asFlag, ldArgs] of [
    [32, '--32', ['-m', 'elf_i386']],
    [64, '--64', []],
  ] as const) {
    it(`a multiboot ELF${bits} kernel with a linker script`, () => {
      writeFileSync(join(dir, 'mb.S'), mbSource);
      writeFileSync(join(dir, 'mb.ld'), script);
      run('as', [asFlag, 'mb.S', '-o', `mb${bits}.o`]);
      run('ld', [...ldArgs, '-static', '-nostdlib', '-T', 'mb.ld', '--build-id=none', `mb${bits}.o`, '-o', `mb${bits}.elf`]);
      const img = new Uint8Array(readFileSync(join(dir, `mb${bits}.elf`)));
      const mem = new PhysicalMemory(4 * MiB);
      const s = loadImage(mem, img, { cmdline: 'hello' });
      expect(s.mode).toBe('protected32');
      expect(s.rip).toBe(0x10000c); // _start follows the 12-byte header
      expect(mem.view.getUint32(0x100000, true)).toBe(0x1badb002);
      expect(mem.u8[0x10000c]).toBe(0xbc); // mov $imm32, %esp
      expect(describeImage(img)).toMatch(new RegExp(`multiboot v1 kernel .*ELF${bits}`));
    });
  }
});
