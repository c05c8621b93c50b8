// Type declarations for the parts of the `elfy` package (CommonJS, no bundled types) that the
// loader uses. Only the header and program-header parsers are declared: elfy's full `parse()`
// also resolves section names and throws a TypeError on files without section headers, so the
// loader never calls it (see elf.ts).

declare module 'elfy' {
  import type { Buffer } from 'node:buffer';

  export interface ElfyHeader {
    class: string; // '32' | '64'
    endian: string; // 'lsb' | 'msb'
    osabi: string | undefined;
    abiversion: string | undefined;
    type: string | undefined; // 'exec', 'dyn', ...; undefined for values elfy does not know
    machine: string | undefined; // 'amd64', '386', ...
    version: number;
    entry: number; // 64-bit fields are read as doubles: exact only below 2^53
    phoff: number;
    shoff: number;
    flags: number;
    ehsize: number;
    phentsize: number;
    phnum: number;
    shentsize: number;
    shnum: number;
    shstrndx: number;
  }

  export interface ElfyProgram {
    type: string | undefined; // 'load', 'interp', ...
    offset: number;
    vaddr: number;
    paddr: number;
    filesz: number;
    memsz: number;
    flags: Record<string, boolean>; // { r: true, x: true }
    align: number;
    data: Buffer; // buf.slice(offset, offset + filesz): silently clamped at the end of the file
  }

  export class Parser {
    constructor();
    parseHeader(buf: Buffer): ElfyHeader;
    parsePrograms(buf: Buffer, header: ElfyHeader): ElfyProgram[];
  }

  const elfy: {
    Parser: typeof Parser;
    constants: Record<string, Record<number, string>>;
  };
  export default elfy;
}
