/* start.S - x86vmx libc: process entry point.
   The x86-64 SysV ABI (3.4.1) and Linux's ELF loader leave, at _start: RSP 16-byte aligned and
   pointing at argc; then argv[0..argc-1], NULL, envp[...], NULL, the auxiliary vector (type/value
   pairs ending with AT_NULL). RDX may hold a function for atexit (dynamic linker only; unused
   by static programs, and ignored here). RBP is cleared to mark the outermost frame. */
    .text
    .globl _start
    .type _start, @function
_start:
    xor %ebp, %ebp
    mov (%rsp), %rdi            /* argc */
    lea 8(%rsp), %rsi           /* argv */
    lea 8(%rsi,%rdi,8), %rdx    /* envp = argv + argc + 1 */
    and $-16, %rsp              /* already aligned per the ABI; be safe */
    call __libc_start           /* never returns */
    hlt                         /* unreachable (would fault in ring 3) */
    .size _start, . - _start
    .section .note.GNU-stack, "", @progbits
