/* stddef.h - x86vmx libc: basic types (LP64). */
#ifndef _X86VMX_STDDEF_H
#define _X86VMX_STDDEF_H

typedef unsigned long size_t;
typedef long ptrdiff_t;
typedef long ssize_t;
typedef int wchar_t;
typedef struct { long long __ll __attribute__((aligned(8))); double __d __attribute__((aligned(16))); } max_align_t;

#define NULL ((void *)0)
#define offsetof(type, member) __builtin_offsetof(type, member)

#endif
