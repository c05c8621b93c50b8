// MUL, IMUL, DIV, IDIV (group 3 ModRM.reg 4-7) and IMUL two/three-operand forms.
// Placeholder until the family lands: every form is #UD.
import type { Insn, Handler } from '../insn.ts';
export function pickMulDiv(i: Insn): Handler | undefined { void i; return undefined; }
