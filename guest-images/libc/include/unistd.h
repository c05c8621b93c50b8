/* unistd.h - x86vmx libc: POSIX-style system call wrappers. */
#ifndef _X86VMX_UNISTD_H
#define _X86VMX_UNISTD_H

#include <stddef.h>

#define STDIN_FILENO 0
#define STDOUT_FILENO 1
#define STDERR_FILENO 2

typedef int pid_t;

ssize_t read(int fd, void *buf, size_t count);
ssize_t write(int fd, const void *buf, size_t count);
/* Writes all of buf (retrying short writes and EINTR); returns count or -1. */
ssize_t write_all(int fd, const void *buf, size_t count);
pid_t getpid(void);
int brk(void *addr);
void *sbrk(long increment);
__attribute__((noreturn)) void _exit(int status);

/* Raw system call: returns the kernel's value, or -1 with errno set for -4095..-1. */
long syscall(long number, ...);

#endif
