/* Fixed addresses shared by the recorder (C and stub.S) and, through the vector files' header, the
 * replayer. All lie below 8 MiB so that the replayer's CPU (tests/helpers/cpu-harness.ts: 8 MiB of
 * RAM, identity-mapped) can place the same bytes at the same linear addresses. */
#ifndef RECORDER_LAYOUT_H
#define RECORDER_LAYOUT_H

#define INSN_ADDR   0x100000  /* the instruction under test starts here (page mapped RWX) */
#define DATA_ADDR   0x300000  /* data page: memory operands, string buffers, RSP */
#define DATA_SIZE   0x1000
#define RSP_VALUE   0x300800  /* RSP in every input state (never randomized) */
#define CTL_ADDR    0x380000  /* recorder-only control block, addressed with absolute disp32 */

/* Control block layout (bytes from CTL_ADDR). A state is: 16 GPRs (RAX..R15, 8 bytes each),
 * RFLAGS (8), MXCSR (4), pad (4), XMM0..XMM15 (16 bytes each). */
#define ST_GPR      0x000
#define ST_FLAGS    0x080
#define ST_MXCSR    0x088
#define ST_XMM      0x090
#define CTL_IN      0x000
#define CTL_OUT     0x200
#define CTL_SAVESP  0x400     /* the C stack pointer while the instruction runs */
#define CTL_JMPINSN 0x408     /* = INSN_ADDR: the stub jumps here through memory (no register used) */
#define CTL_JMPRET  0x410     /* = &stub_return: the code page jumps back through memory */
#define CTL_CMXCSR  0x418     /* 0x1f80: the MXCSR the C code runs with, restored by the stub */

#endif
