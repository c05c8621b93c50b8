// What a loader hands the machine: memory is already written; this says how to start the CPU.
// Loaders never touch the CPU (they sit below it); the machine applies a BootState.

export type BootMode = 'real16' | 'protected32' | 'long64';

export interface SegmentSetup {
  selector: number;
  base: number;
  limit: number;
  /** Descriptor attribute bits 40..55 of the descriptor as a 16-bit value: type|S|DPL|P (bits 0..7), AVL|L|D/B|G (bits 12..15). */
  attrs: number;
}

export interface BootState {
  mode: BootMode;
  /** Where execution starts (linear; in real mode CS:IP is given by cs and rip). */
  rip: number;
  /** General registers by name (rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp); unspecified are 0. Values must fit a double exactly. */
  regs: Partial<Record<'rax' | 'rbx' | 'rcx' | 'rdx' | 'rsi' | 'rdi' | 'rbp' | 'rsp', number>>;
  rflags: number;
  cr0: number;
  cr3: number;
  cr4: number;
  efer: number;
  gdtBase: number;
  gdtLimit: number;
  cs: SegmentSetup;
  /** Used for DS, ES, SS, FS, GS. */
  data: SegmentSetup;
  /** Human-readable description, printed by --stats / the debugger. */
  description: string;
}

/** A loader refuses an image with this error; the message says which check failed. */
export class ImageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageError';
  }
}
