// What the SDM leaves undefined, and nothing else: the only state the conformance replay does not
// compare. Each entry cites the "Flags Affected" (or "Description") text of the instruction in the
// Intel 64 and IA-32 Architectures Software Developer's Manual, Vol. 2A (instructions A-L),
// Vol. 2B (M-U) or Vol. 2C (V-Z). A form's attributes (mn, osz, cnt, src, dst) come from the vector
// file (tests/conformance/recorder/forms.ts writes them).
//
// A vector that faults is never masked: a faulting instruction leaves the state as it was.
import { CF, PF, AF, ZF, SF, OF } from '../../emulator/cpu/state.ts';

export interface FormInfo {
  /** Mnemonic (without prefixes), e.g. 'shl'. */
  mn: string;
  /** Operand size in bits. */
  osz: number;
  /** All attributes of the form (mn, osz, cnt = cl | 1 | imm:N, src/dst = rN | mem, ...). */
  attrs: Readonly<Record<string, string>>;
}

/** The input state of one vector, as the undefined-state rules need it. */
export interface InputView {
  /** Low / high 32 bits of general register n (0 = RAX ... 15 = R15). */
  lo(n: number): number;
  hi(n: number): number;
  /** The input bytes of the form's memory window. */
  win: Uint8Array;
}

/** Undefined parts of the output state for one vector. */
export interface Undefined {
  /** RFLAGS bits not compared. */
  flags: number;
  /** General register whose low `regBits` bits are not compared, or -1. */
  reg: number;
  regBits: number;
  /** The memory window is not compared. */
  mem: boolean;
}

export const NONE: Readonly<Undefined> = Object.freeze({ flags: 0, reg: -1, regBits: 0, mem: false });

interface Rule {
  mn: string[];
  /** The SDM text this rule implements. */
  sdm: string;
  undef(f: FormInfo, v: InputView): Undefined;
}

const flagsOnly = (flags: number): Undefined => ({ flags, reg: -1, regBits: 0, mem: false });

/** The count operand of a shift/rotate: CL, 1 or the immediate. */
function rawCount(f: FormInfo, v: InputView): number {
  const c = f.attrs.cnt;
  if (c === 'cl') return v.lo(1) & 0xff;
  if (c === '1') return 1;
  if (c !== undefined && c.startsWith('imm:')) return Number(c.slice(4)) & 0xff;
  throw new Error(`form ${f.mn}: no count attribute`);
}
/** COUNT AND countMASK: 0x3f for 64-bit operands, 0x1f otherwise (SDM Vol. 2B SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR). */
const maskedCount = (f: FormInfo, v: InputView): number => rawCount(f, v) & (f.osz === 64 ? 0x3f : 0x1f);

/** Whether the low `bits` bits of a source operand (rN or mem window) are all zero. */
function srcIsZero(f: FormInfo, v: InputView): boolean {
  const s = f.attrs.src;
  if (s === 'mem') return v.win.subarray(0, f.osz / 8).every((b) => b === 0);
  const n = Number(s.slice(1));
  if (f.osz === 64) return v.lo(n) === 0 && v.hi(n) === 0;
  return (v.lo(n) & (f.osz === 32 ? -1 : 0xffff)) === 0;
}
const dstReg = (f: FormInfo): number => (f.attrs.dst === undefined || f.attrs.dst === 'mem' ? -1 : Number(f.attrs.dst.slice(1)));

export const RULES: readonly Rule[] = [
  {
    mn: ['and', 'or', 'xor', 'test'],
    sdm: 'AND (Vol. 2A), OR (Vol. 2B), XOR (Vol. 2C), TEST (Vol. 2B), "Flags Affected": "The OF and CF flags are cleared; the SF, ZF, and PF flags are set according to the result. The state of the AF flag is undefined."',
    undef: () => flagsOnly(AF),
  },
  {
    mn: ['mul', 'imul'],
    sdm: 'MUL (Vol. 2B) and IMUL (Vol. 2A), "Flags Affected": "The SF, ZF, AF, and PF flags are undefined."',
    undef: () => flagsOnly(SF | ZF | AF | PF),
  },
  {
    mn: ['div', 'idiv'],
    sdm: 'DIV and IDIV (Vol. 2A), "Flags Affected": "The CF, OF, SF, ZF, AF, and PF flags are undefined."',
    undef: () => flagsOnly(CF | OF | SF | ZF | AF | PF),
  },
  {
    mn: ['shl', 'sal', 'shr', 'sar'],
    sdm: 'SAL/SAR/SHL/SHR (Vol. 2B), "Flags Affected": "The CF flag contains the value of the last bit shifted out of the destination operand; it is undefined for SHL and SHR instructions where the count is greater than or equal to the size (in bits) of the destination operand. The OF flag is affected only for 1-bit shifts; otherwise, it is undefined. ... If the count is 0, the flags are not affected. For a non-zero count, the AF flag is undefined." (count = COUNT AND countMASK)',
    undef: (f, v) => {
      const n = maskedCount(f, v);
      if (n === 0) return NONE;
      let u = AF;
      if (n !== 1) u |= OF;
      if ((f.mn === 'shl' || f.mn === 'sal' || f.mn === 'shr') && n >= f.osz) u |= CF;
      return flagsOnly(u);
    },
  },
  {
    mn: ['rol', 'ror', 'rcl', 'rcr'],
    sdm: 'RCL/RCR/ROL/ROR (Vol. 2B), "Flags Affected": "If the masked count is 0, the flags are not affected. If the masked count is 1, then the OF flag is affected, otherwise (masked count is greater than 1) the OF flag is undefined. The CF flag is affected when the masked count is non-zero. The SF, ZF, AF, and PF flags are always unaffected."',
    undef: (f, v) => {
      const n = maskedCount(f, v);
      return n > 1 ? flagsOnly(OF) : NONE;
    },
  },
  {
    mn: ['shld', 'shrd'],
    sdm: 'SHLD and SHRD (Vol. 2B): Description: "If the count is greater than the operand size, the result is undefined."; "Flags Affected": "If the count is 1 or greater, the CF flag is filled with the last bit shifted out of the destination operand and the SF, ZF, and PF flags are set according to the value of the result. For a 1-bit shift, the OF flag is set if a sign change occurred; otherwise, it is cleared. For shifts greater than 1 bit, the OF flag is undefined. If a shift occurs, the AF flag is undefined. If the count operand is 0, the flags are not affected. If the count is greater than the operand size, the flags are undefined." (count = COUNT MOD 32, or MOD 64 for 64-bit operands)',
    undef: (f, v) => {
      const n = maskedCount(f, v);
      if (n === 0) return NONE;
      if (n > f.osz) {
        const d = dstReg(f);
        return { flags: CF | PF | AF | ZF | SF | OF, reg: d, regBits: d < 0 ? 0 : f.osz, mem: d < 0 };
      }
      return flagsOnly(n === 1 ? AF : AF | OF);
    },
  },
  {
    mn: ['bt', 'bts', 'btr', 'btc'],
    sdm: 'BT, BTC, BTR, BTS (Vol. 2A), "Flags Affected": "The CF flag contains the value of the selected bit. The ZF flag is unaffected. The OF, SF, AF, and PF flags are undefined."',
    undef: () => flagsOnly(OF | SF | AF | PF),
  },
  {
    mn: ['bsf', 'bsr'],
    sdm: 'BSF and BSR (Vol. 2A): Description: "If the content of the source operand is 0, the content of the destination operand is undefined."; "Flags Affected": "The ZF flag is set to 1 if the source operand is 0; otherwise, the ZF flag is cleared. The CF, OF, SF, AF, and PF flags are undefined."',
    undef: (f, v) => {
      const flags = CF | OF | SF | AF | PF;
      if (!srcIsZero(f, v)) return flagsOnly(flags);
      return { flags, reg: dstReg(f), regBits: 64, mem: false };
    },
  },
  {
    mn: ['tzcnt', 'lzcnt'],
    sdm: 'LZCNT (Vol. 2A) and TZCNT (Vol. 2B), "Flags Affected": "The ZF flag is set to 1 in case of zero output ..., and to 0 otherwise, CF flag is set to 1 if input was zero and cleared otherwise. OF, SF, PF and AF flags are undefined."',
    undef: () => flagsOnly(OF | SF | PF | AF),
  },
];

const BY_MN = new Map<string, Rule>();
for (const r of RULES) for (const mn of r.mn) BY_MN.set(mn, r);

/**
 * The rule function for a form, or null when the SDM defines the form's whole output (the common
 * case: ADD, SUB, CMP, INC, NEG, POPCNT, string instructions, CMPXCHG, SETcc, SSE, ...).
 */
export function undefinedRule(f: FormInfo): ((v: InputView) => Undefined) | null {
  const r = BY_MN.get(f.mn);
  if (r === undefined) return null;
  return (v) => r.undef(f, v);
}
