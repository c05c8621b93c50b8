/* sys/syscall.h - x86vmx libc: Linux x86-64 system call numbers used by the runtime. */
#ifndef _X86VMX_SYS_SYSCALL_H
#define _X86VMX_SYS_SYSCALL_H

#define SYS_read 0
#define SYS_write 1
#define SYS_close 3
#define SYS_mmap 9
#define SYS_mprotect 10
#define SYS_munmap 11
#define SYS_brk 12
#define SYS_nanosleep 35
#define SYS_getpid 39
#define SYS_exit 60
#define SYS_uname 63
#define SYS_gettimeofday 96
#define SYS_arch_prctl 158
#define SYS_clock_gettime 228
#define SYS_exit_group 231

#endif
