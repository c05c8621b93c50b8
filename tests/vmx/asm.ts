// A tiny x86-64 encoder for the VMX tests: just the forms they use, each written from the SDM's
// opcode tables (Vol. 2, Vol. 3C 30.3). asm.test.ts checks every form against GNU as when it is
// installed, so a fresh clone needs no toolchain to run the tests.
export const RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RBP = 5, RSI = 6, RDI = 7,
  R8 = 8, R9 = 9, R10 = 10, R11 = 11, R12 = 12, R13 = 13, R14 = 14, R15 = 15;

export class Asm {
  readonly b: number[] = [];
  constructor(readonly origin = 0) {}
  get here(): number { return this.origin + this.b.length; }
  bytes(): Uint8Array { return Uint8Array.from(this.b); }
  raw(...x: number[]): this { this.b.push(...x); return this; }

  private rex(w: boolean, reg: number, rm: number): void {
    const r = (w ? 8 : 0) | ((reg & 8) >> 1) | ((rm & 8) >> 3);
    if (r !== 0) this.b.push(0x40 | r);
  }
  /** ModRM for [base] (no displacement; base must not be RSP/RBP/R12/R13) or [base + disp8]. */
  private mem(reg: number, base: number, disp?: number): void {
    if ((base & 7) === 4 || ((base & 7) === 5 && disp === undefined)) throw new Error('asm: unsupported base register');
    if (disp === undefined) this.b.push(((reg & 7) << 3) | (base & 7));
    else { this.b.push(0x40 | ((reg & 7) << 3) | (base & 7), disp & 0xff); }
  }
  private regReg(reg: number, rm: number): void { this.b.push(0xc0 | ((reg & 7) << 3) | (rm & 7)); }

  /** mov r64, imm64 (REX.W B8+r io). */
  movImm(r: number, v: number | bigint): this {
    const u = BigInt.asUintN(64, BigInt(v));
    this.b.push(0x48 | ((r & 8) >> 3), 0xb8 + (r & 7));
    for (let k = 0n; k < 8n; k++) this.b.push(Number((u >> (8n * k)) & 0xffn));
    return this;
  }
  /** mov r64, r64 (REX.W 89 /r). */
  mov(dst: number, src: number): this { this.rex(true, src, dst); this.b.push(0x89); this.regReg(src, dst); return this; }

  // ---- VMX (SDM Vol. 3C 30.3)
  vmxon(base: number): this { this.b.push(0xf3); this.rex(false, 0, base); this.b.push(0x0f, 0xc7); this.mem(6, base); return this; }
  vmptrld(base: number): this { this.rex(false, 0, base); this.b.push(0x0f, 0xc7); this.mem(6, base); return this; }
  vmclear(base: number): this { this.b.push(0x66); this.rex(false, 0, base); this.b.push(0x0f, 0xc7); this.mem(6, base); return this; }
  vmptrst(base: number): this { this.rex(false, 0, base); this.b.push(0x0f, 0xc7); this.mem(7, base); return this; }
  /** vmread dst, field (0F 78 /r: r/m ← VMCS[reg]). */
  vmread(dst: number, field: number): this { this.rex(false, field, dst); this.b.push(0x0f, 0x78); this.regReg(field, dst); return this; }
  /** vmread [base + disp8], field. */
  vmreadMem(base: number, disp: number, field: number): this { this.rex(false, field, base); this.b.push(0x0f, 0x78); this.mem(field, base, disp); return this; }
  /** vmwrite field, src (0F 79 /r: VMCS[reg] ← r/m). */
  vmwrite(field: number, src: number): this { this.rex(false, field, src); this.b.push(0x0f, 0x79); this.regReg(field, src); return this; }
  vmwriteMem(field: number, base: number, disp: number): this { this.rex(false, field, base); this.b.push(0x0f, 0x79); this.mem(field, base, disp); return this; }
  vmlaunch(): this { return this.raw(0x0f, 0x01, 0xc2); }
  vmresume(): this { return this.raw(0x0f, 0x01, 0xc3); }
  vmxoff(): this { return this.raw(0x0f, 0x01, 0xc4); }
  vmcall(): this { return this.raw(0x0f, 0x01, 0xc1); }
  invept(type: number, base: number): this { this.b.push(0x66); this.rex(false, type, base); this.b.push(0x0f, 0x38, 0x80); this.mem(type, base); return this; }
  invvpid(type: number, base: number): this { this.b.push(0x66); this.rex(false, type, base); this.b.push(0x0f, 0x38, 0x81); this.mem(type, base); return this; }

  // ---- instructions that exit in VMX non-root operation
  cpuid(): this { return this.raw(0x0f, 0xa2); }
  hlt(): this { return this.raw(0xf4); }
  rdmsr(): this { return this.raw(0x0f, 0x32); }
  wrmsr(): this { return this.raw(0x0f, 0x30); }
  rdtsc(): this { return this.raw(0x0f, 0x31); }
  rdtscp(): this { return this.raw(0x0f, 0x01, 0xf9); }
  invd(): this { return this.raw(0x0f, 0x08); }
  wbinvd(): this { return this.raw(0x0f, 0x09); }
  invlpg(base: number): this { this.rex(false, 0, base); this.b.push(0x0f, 0x01); this.mem(7, base); return this; }
  outImm8(port: number): this { return this.raw(0xe6, port & 0xff); }
  inDx8(): this { return this.raw(0xec); }
  outDx32(): this { return this.raw(0xef); }
  outDx16(): this { return this.raw(0x66, 0xef); }
  repOutsb(): this { return this.raw(0xf3, 0x6e); }
  insb(): this { return this.raw(0x6c); }
  /** mov crN, r64 (0F 22 /r; CR8 via REX.R). */
  movToCr(cr: number, r: number): this { this.rex(false, cr, r); this.b.push(0x0f, 0x22); this.regReg(cr, r); return this; }
  movFromCr(r: number, cr: number): this { this.rex(false, cr, r); this.b.push(0x0f, 0x20); this.regReg(cr, r); return this; }
  movToDr(dr: number, r: number): this { this.rex(false, dr, r); this.b.push(0x0f, 0x23); this.regReg(dr, r); return this; }
  movFromDr(r: number, dr: number): this { this.rex(false, dr, r); this.b.push(0x0f, 0x21); this.regReg(dr, r); return this; }
  clts(): this { return this.raw(0x0f, 0x06); }
  lmsw(r: number): this { this.rex(false, 0, r); this.b.push(0x0f, 0x01); this.regReg(6, r); return this; }
  smsw(r: number): this { this.rex(true, 0, r); this.b.push(0x0f, 0x01); this.regReg(4, r); return this; }

  // ---- misc
  int3(): this { return this.raw(0xcc); }
  int(n: number): this { return this.raw(0xcd, n & 0xff); }
  ud2(): this { return this.raw(0x0f, 0x0b); }
  sti(): this { return this.raw(0xfb); }
  cli(): this { return this.raw(0xfa); }
  nop(): this { return this.raw(0x90); }
  /** mov ss, r16 (8E /2 with a register operand). */
  movSs(r: number): this { this.rex(false, 0, r); this.b.push(0x8e); this.regReg(2, r); return this; }
  /** mov r64, [base + disp8] (REX.W 8B /r). */
  load(dst: number, base: number, disp: number): this { this.rex(true, dst, base); this.b.push(0x8b); this.mem(dst, base, disp); return this; }
  /** mov [base + disp8], r64 (REX.W 89 /r). */
  store(base: number, disp: number, src: number): this { this.rex(true, src, base); this.b.push(0x89); this.mem(src, base, disp); return this; }
  /** add r64, imm8 (REX.W 83 /0 ib). */
  addImm8(r: number, v: number): this { this.rex(true, 0, r); this.b.push(0x83); this.regReg(0, r); this.b.push(v & 0xff); return this; }
  /** add dst, src (REX.W 01 /r). */
  addReg(dst: number, src: number): this { this.rex(true, src, dst); this.b.push(0x01); this.regReg(src, dst); return this; }
  pushfq(): this { return this.raw(0x9c); }
  pop(r: number): this { this.rex(false, 0, r); this.b.push(0x58 + (r & 7)); return this; }
  /** jmp rel8 to itself (EB FE). */
  jmpSelf(): this { return this.raw(0xeb, 0xfe); }
}
