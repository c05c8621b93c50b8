/*
 * x86vmx conformance recorder: runs every instruction form of forms.gen.h natively (x86-64 Linux,
 * user mode) from random and edge-case input states and writes the input and output states to
 * vector files (format: tests/conformance/vectors/README.md).
 *
 * Per vector: the input state (16 GPRs, RFLAGS, MXCSR, XMM0-15, the data page) is loaded by
 * run_stub (stub.S), the instruction at INSN_ADDR runs, and the output state is stored back. A fault
 * arrives as a signal; the handler takes the whole state at the fault from the signal context
 * (gregs, fpregs), the hardware exception vector from REG_TRAPNO and the error code from REG_ERR,
 * then siglongjmps back.
 *
 * Usage: recorder OUTDIR [FORM-SUBSTRING]
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <time.h>
#include <ucontext.h>
#include "layout.h"

#define RECORDER_VERSION "1"

/* ------------------------------------------------------------------ form table (generated) */
/* GPR input kinds. BASE: the form's fixed random value; PTR: DATA_ADDR+arg (fixed); FIX: arg (fixed,
 * e.g. an index register); all others are
 * regenerated for every vector ("live") and stored in each vector. */
enum { RK_BASE, RK_PTR, RK_FIX, RK_PTRJ, RK_PTR32J, RK_V8, RK_V8H, RK_V16, RK_V32, RK_V64, RK_CNT, RK_SMALL,
       RK_SMALL32, RK_BITOFF };
/* XMM input kinds (BASE: fixed per form). */
enum { XK_BASE, XK_INT, XK_F64, XK_F32, XK_CNT };
/* Memory operand kinds: the window is filled with random bytes, then a value is put at mem_off. */
enum { MK_NONE, MK_RAND, MK_V8, MK_V16, MK_V32, MK_V64, MK_X128, MK_F64, MK_F64X2, MK_F32, MK_F32X4,
       MK_XCNT };
/* Post-generation fix-ups that correlate operands. */
enum { P_NONE, P_DIVU, P_DIVS, P_CMPXCHG, P_CX8B, P_CX16B, P_CMPS, P_SCAS, P_ZSRC };

struct form {
  const char *name, *group, *attrs;
  const uint8_t *bytes;
  int len, nvec, sse, df;
  uint8_t rk[16];
  uint16_t rarg[16];
  uint8_t xk[16];
  int mxcsr_live;
  int mk, mem_off, mem_len, win_off, win_len;
  int post, parg, pw;  /* post kind, its register (or -1: memory operand), its width in bits */
};
#include "forms.gen.h"
#define NFORMS ((int)(sizeof(FORMS) / sizeof(FORMS[0])))

/* ------------------------------------------------------------------ state */
struct state {
  uint64_t gpr[16];
  uint64_t rflags;
  uint32_t mxcsr, pad;
  uint8_t xmm[16][16];
};
#define CTL ((volatile uint8_t *)CTL_ADDR)
#define IN  ((struct state *)(CTL_ADDR + CTL_IN))
#define OUT ((struct state *)(CTL_ADDR + CTL_OUT))
#define DATA ((uint8_t *)DATA_ADDR)

extern void run_stub(void);
extern void stub_return(void);

/* ------------------------------------------------------------------ random numbers (xoshiro256**) */
static uint64_t S[4];
static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
static uint64_t rnd(void) {
  uint64_t r = rotl(S[1] * 5, 7) * 9, t = S[1] << 17;
  S[2] ^= S[0]; S[3] ^= S[1]; S[1] ^= S[2]; S[0] ^= S[3]; S[2] ^= t; S[3] = rotl(S[3], 45);
  return r;
}
static void seed(const char *s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
  for (int i = 0; i < 4; i++) { h += 0x9e3779b97f4a7c15ull; uint64_t z = h;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull; z = (z ^ (z >> 27)) * 0x94d049bb133111ebull; S[i] = z ^ (z >> 31); }
}
static uint64_t below(uint64_t n) { return rnd() % n; }
static uint64_t mask(int w) { return w >= 64 ? ~0ull : (1ull << w) - 1; }

/* An integer of width w biased to edge cases; bits above w are random. */
static uint64_t gen_val(int w) {
  static const uint64_t E[] = { 0, 1, 2, 3, ~0ull, ~1ull, 0x7f, 0x80, 0x81, 0xff, 0x7fff, 0x8000, 0xffff,
    0x7fffffff, 0x80000000, 0x80000001, 0xffffffff, 0x7fffffffffffffffull, 0x8000000000000000ull,
    0x100, 0x10000, 0x100000000ull, 0x5555555555555555ull, 0xaaaaaaaaaaaaaaaaull };
  uint64_t r = rnd(), v;
  switch (below(8)) {
    case 0: case 1: v = E[below(sizeof E / sizeof E[0])];
      /* width-relative edges: MIN, MAX, MIN+1, MAX-1 of the signed w-bit range */
      if (below(3) == 0) { uint64_t min = 1ull << (w - 1); v = (uint64_t[]){ min, min - 1, min + 1, min - 2 }[below(4)]; }
      break;
    case 2: v = (uint64_t)((int64_t)below(33) - 16); break;
    case 3: v = r >> below(64); break; /* leading zeros of every length */
    default: v = rnd();
  }
  return (r & ~mask(w)) | (v & mask(w));
}

/* A shift/rotate count for CL: edges around every operand width, random bytes; upper bits random. */
static uint64_t gen_cnt(void) {
  static const uint8_t E[] = { 0, 1, 2, 7, 8, 9, 15, 16, 17, 18, 31, 32, 33, 63, 64, 65, 127, 128, 255, 0xe0, 0xc1 };
  uint64_t r = rnd();
  uint8_t c = below(3) ? E[below(sizeof E)] : (uint8_t)rnd();
  return (r & ~0xffull) | c;
}

static double gen_f64(void) {
  static const uint64_t E[] = {
    0x0000000000000000ull, 0x8000000000000000ull, 0x7ff0000000000000ull, 0xfff0000000000000ull,
    0x7ff8000000000000ull, 0xfff8000000000000ull, 0x7ff0000000000001ull, 0xfff4000000000000ull,
    0x7ff8000000000123ull, 0x0000000000000001ull, 0x800fffffffffffffull, 0x000fffffffffffffull,
    0x0010000000000000ull, 0x8010000000000000ull, 0x7fefffffffffffffull, 0xffefffffffffffffull,
    0x3ff0000000000000ull, 0xbff0000000000000ull, 0x43e0000000000000ull, 0xc3e0000000000000ull,
    0x43dfffffffffffffull, 0xc3e0000000000001ull, 0x41e0000000000000ull, 0xc1e0000000000000ull,
    0x41dfffffffe00000ull, 0xc1e0000000100000ull, 0x41dfffffffffffffull, 0x3fe0000000000000ull,
    0x3ff8000000000000ull, 0x4004000000000000ull, 0xc004000000000000ull, 0x3fe0000000000001ull,
    0x0008000000000000ull, 0x3ca0000000000000ull, 0x7fe0000000000000ull, 0x0020000000000000ull };
  uint64_t b;
  switch (below(10)) {
    case 0: case 1: case 2: case 3: b = E[below(sizeof E / sizeof E[0])]; break;
    case 4: case 5: { double d = (double)((int64_t)below(4001) - 2000) / (double)(1 << below(4)); memcpy(&b, &d, 8); break; }
    case 6: case 7: b = (rnd() & 0x800fffffffffffffull) | ((uint64_t)(1023 - 70 + below(140)) << 52); break;
    case 8: b = (rnd() & 0x800fffffffffffffull) | ((uint64_t)(below(3) ? below(60) : 2046 - below(60)) << 52); break;
    default: b = rnd();
  }
  double d; memcpy(&d, &b, 8); return d;
}
static uint32_t gen_f32(void) {
  static const uint32_t E[] = { 0, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7f800001,
    0x7fa00000, 0x00000001, 0x807fffff, 0x00800000, 0x7f7fffff, 0xff7fffff, 0x3f800000, 0xbf800000,
    0x4f000000, 0xcf000000, 0x5f000000, 0xdf000000, 0x3f000000, 0x3fc00000, 0x40200000, 0x0c000000, 0x72000000 };
  switch (below(8)) {
    case 0: case 1: case 2: return E[below(sizeof E / sizeof E[0])];
    case 3: case 4: { float f = (float)((int)below(2001) - 1000) / (float)(1 << below(4)); uint32_t b; memcpy(&b, &f, 4); return b; }
    case 5: case 6: return ((uint32_t)rnd() & 0x807fffff) | ((uint32_t)(127 - 40 + below(80)) << 23);
    default: return (uint32_t)rnd();
  }
}

/* 16 bytes of integer lanes: random, with edge values in lanes of a random width. */
static void gen_x128(uint8_t *p) {
  for (int i = 0; i < 16; i += 8) { uint64_t r = rnd(); memcpy(p + i, &r, 8); }
  if (below(4) == 0) return;
  int lw = 1 << below(4); /* lane bytes */
  for (int i = 0; i < 16; i += lw) {
    if (below(3)) continue;
    uint64_t v;
    switch (below(6)) {
      case 0: v = 0; break;
      case 1: v = ~0ull; break;
      case 2: v = 1ull << (lw * 8 - 1); break;        /* MIN */
      case 3: v = (1ull << (lw * 8 - 1)) - 1; break;  /* MAX */
      case 4: v = below(4); break;
      default: v = (uint64_t)-(int64_t)below(4); break;
    }
    memcpy(p + i, &v, lw);
  }
}
/* A packed-shift count in the low quadword (high quadword random). */
static void gen_xcnt(uint8_t *p) {
  uint64_t lo, hi = rnd();
  switch (below(10)) {
    case 0: lo = rnd(); break;
    case 1: lo = (1ull << 32) + below(8); break;
    case 2: lo = 0x8000000000000000ull | below(8); break;
    default: lo = below(72);
  }
  memcpy(p, &lo, 8); memcpy(p + 8, &hi, 8);
}
static void gen_x(int kind, uint8_t *p) {
  switch (kind) {
    case XK_INT: gen_x128(p); break;
    case XK_F64: for (int i = 0; i < 2; i++) { double d = gen_f64(); memcpy(p + 8 * i, &d, 8); } break;
    case XK_F32: for (int i = 0; i < 4; i++) { uint32_t f = gen_f32(); memcpy(p + 4 * i, &f, 4); } break;
    case XK_CNT: gen_xcnt(p); break;
  }
}

/* MXCSR for floating-point forms: random rounding control and FTZ, sticky flags sometimes set,
 * exceptions sometimes unmasked (→ #XM). DAZ (bit 6) is never set: the emulated CPU reports an
 * MXCSR_MASK without DAZ. */
static uint32_t gen_mxcsr(void) {
  uint32_t m = 0x1f80;
  m |= (uint32_t)below(4) << 13;
  if (below(4) == 0) m |= 0x8000;
  if (below(4) == 0) m |= (uint32_t)rnd() & 0x3f;
  if (below(8) == 0) m &= ~(((uint32_t)rnd() & 0x3f) << 7);
  return m;
}

/* ------------------------------------------------------------------ fault capture */
static sigjmp_buf jb;
static volatile int fault_vec;
static volatile uint64_t fault_err, fault_rip;

static void on_fault(int sig, siginfo_t *si, void *ucv) {
  (void)sig; (void)si;
  ucontext_t *uc = ucv;
  greg_t *g = uc->uc_mcontext.gregs;
  struct state *o = OUT;
  static const int MAP[16] = { REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
    REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15 };
  for (int i = 0; i < 16; i++) o->gpr[i] = (uint64_t)g[MAP[i]];
  o->rflags = (uint64_t)g[REG_EFL] & ~0x10000ull; /* RF: set in the frame of a fault, not state */
  if (uc->uc_mcontext.fpregs) {
    o->mxcsr = uc->uc_mcontext.fpregs->mxcsr;
    memcpy(o->xmm, uc->uc_mcontext.fpregs->_xmm, 256);
  }
  fault_vec = (int)g[REG_TRAPNO];
  fault_err = (uint64_t)g[REG_ERR];
  fault_rip = (uint64_t)g[REG_RIP];
  siglongjmp(jb, 1);
}

/* ------------------------------------------------------------------ output buffers */
struct buf { uint8_t *p; size_t n, cap; };
static void put(struct buf *b, const void *d, size_t n) {
  if (b->n + n > b->cap) { b->cap = (b->cap + n) * 2; b->p = realloc(b->p, b->cap); if (!b->p) abort(); }
  memcpy(b->p + b->n, d, n); b->n += n;
}
static void put8(struct buf *b, uint8_t v) { put(b, &v, 1); }
static void put16(struct buf *b, uint16_t v) { put(b, &v, 2); }
static void put32(struct buf *b, uint32_t v) { put(b, &v, 4); }
static void put64(struct buf *b, uint64_t v) { put(b, &v, 8); }
static void putstr(struct buf *b, const char *s) { put16(b, (uint16_t)strlen(s)); put(b, s, strlen(s)); }

struct group { const char *name; struct buf b; uint32_t nforms; };
static struct group groups[32];
static int ngroups;
static struct group *group_of(const char *name) {
  for (int i = 0; i < ngroups; i++) if (!strcmp(groups[i].name, name)) return &groups[i];
  groups[ngroups].name = name;
  return &groups[ngroups++];
}

static void die(const char *form, const char *msg) { fprintf(stderr, "recorder: %s: %s\n", form, msg); exit(1); }

/* ------------------------------------------------------------------ one form */
static uint64_t total_vectors;

static void mem_value(const struct form *f, uint8_t *p) {
  uint64_t v;
  switch (f->mk) {
    case MK_V8: v = gen_val(8); memcpy(p, &v, 1); break;
    case MK_V16: v = gen_val(16); memcpy(p, &v, 2); break;
    case MK_V32: v = gen_val(32); memcpy(p, &v, 4); break;
    case MK_V64: v = gen_val(64); memcpy(p, &v, 8); break;
    case MK_X128: gen_x128(p); break;
    case MK_F64: { double d = gen_f64(); memcpy(p, &d, 8); break; }
    case MK_F64X2: gen_x(XK_F64, p); break;
    case MK_F32: { uint32_t x = gen_f32(); memcpy(p, &x, 4); break; }
    case MK_F32X4: gen_x(XK_F32, p); break;
    case MK_XCNT: gen_xcnt(p); break;
  }
}

static uint64_t rd_w(const uint8_t *p, int w) { uint64_t v = 0; memcpy(&v, p, (size_t)w / 8); return v; }
static void wr_w(uint8_t *p, int w, uint64_t v) { memcpy(p, &v, (size_t)w / 8); }

/* Operand accessors for fix-ups: register r (width w; r >= 16: AH..BH style high byte of r-16) or memory. */
static uint64_t opnd_get(struct state *s, const struct form *f, int r, int w) {
  if (r < 0) return rd_w(DATA + f->mem_off, w);
  if (r >= 16) return (s->gpr[r - 16] >> 8) & 0xff;
  return s->gpr[r] & mask(w);
}
static void opnd_set(struct state *s, const struct form *f, int r, int w, uint64_t v) {
  if (r < 0) { wr_w(DATA + f->mem_off, w, v); return; }
  if (r >= 16) { s->gpr[r - 16] = (s->gpr[r - 16] & ~0xff00ull) | ((v & 0xff) << 8); return; }
  s->gpr[r] = (s->gpr[r] & ~mask(w)) | (v & mask(w));
}

/* The largest REP count the string forms use (RK_SMALL argument in forms.ts). */
#define N_STR 6

static void fixup(struct state *s, const struct form *f) {
  int w = f->pw;
  switch (f->post) {
    case P_DIVU: case P_DIVS: {
      /* Dividend RDX:RAX (AX for 8-bit), divisor f->parg. Mostly make the quotient fit. */
      if (below(20) == 0) { opnd_set(s, f, f->parg, w, 0); break; }
      uint64_t d = opnd_get(s, f, f->parg, w);
      int k = (int)below(10);
      if (f->post == P_DIVS && k == 0) { /* MIN / -1: #DE */
        opnd_set(s, f, f->parg, w, ~0ull);
        if (w == 8) s->gpr[0] = (s->gpr[0] & ~0xffffull) | 0x8000;
        else { opnd_set(s, f, 0, w, 1ull << (w - 1)); opnd_set(s, f, 2, w, ~0ull); }
        break;
      }
      if (k >= 8 || d == 0) break; /* leave random: usually #DE */
      uint64_t hi;
      if (f->post == P_DIVU) hi = rnd() % d;
      else {
        uint64_t lo = w == 8 ? s->gpr[0] & 0xff : s->gpr[0] & mask(w);
        hi = (lo >> (w - 1)) & 1 ? mask(w) : 0; /* sign extension of the low half: always fits unless MIN/-1 */
        if (k >= 6) hi ^= below(2); /* near the boundary */
      }
      if (w == 8) s->gpr[0] = (s->gpr[0] & ~0xff00ull) | ((hi & 0xff) << 8);
      else opnd_set(s, f, 2, w, hi);
      break;
    }
    case P_CMPXCHG: /* accumulator == destination half the time */
      if (below(2)) opnd_set(s, f, 0, w, opnd_get(s, f, f->parg, w));
      break;
    case P_CX8B: case P_CX16B: { /* EDX:EAX (RDX:RAX) == m64 (m128) half the time */
      int hw = f->post == P_CX8B ? 32 : 64;
      if (below(2)) {
        opnd_set(s, f, 0, hw, rd_w(DATA + f->mem_off, hw));
        opnd_set(s, f, 2, hw, rd_w(DATA + f->mem_off + hw / 8, hw));
        if (below(4) == 0) DATA[f->mem_off + below(hw / 4)] ^= 1 << below(8);
      }
      break;
    }
    case P_CMPS: { /* destination elements = source elements, then maybe one differs */
      int e = w / 8;
      uint64_t si = s->gpr[6] & 0xffffffff, di = s->gpr[7] & 0xffffffff;
      int span = N_STR * e; /* forward: [rsi, rsi+span); backward: (rsi-span+e .. rsi+e) */
      uint8_t *ps = DATA + (si - DATA_ADDR), *pd = DATA + (di - DATA_ADDR);
      int back = (s->rflags & 0x400) ? span - e : 0;
      if (below(5)) memcpy(pd - back, ps - back, (size_t)span);
      if (below(3)) pd[-back + (int)below(span)] ^= (uint8_t)(1 + below(255));
      break;
    }
    case P_SCAS: { /* destination elements = accumulator, then maybe one differs */
      int e = w / 8, span = N_STR * e;
      uint8_t *pd = DATA + ((s->gpr[7] & 0xffffffff) - DATA_ADDR);
      int back = (s->rflags & 0x400) ? span - e : 0;
      int k = (int)below(3);
      if (k == 0) break;
      for (int i = 0; i < span; i += e) memcpy(pd - back + i, &s->gpr[0], (size_t)e);
      if (k == 1) pd[-back + (int)below(span)] ^= (uint8_t)(1 + below(255));
      break;
    }
    case P_ZSRC:
      if (below(8) == 0) opnd_set(s, f, f->parg, w, 0);
      break;
  }
}

/* Run the stub once; returns -1, or the exception vector of a fault. */
static __attribute__((noinline)) int run_one(void) {
  fault_vec = -1;
  if (sigsetjmp(jb, 1) == 0) { run_stub(); return -1; }
  return fault_vec;
}

static void record_form(const struct form *f, uint8_t *code) {
  struct group *g = group_of(f->group);
  struct buf *b = &g->b;
  seed(f->name);

  /* the code page: the instruction, then `jmp qword ptr [CTL_ADDR+CTL_JMPRET]` */
  memset(code, 0xcc, 0x1000);
  memcpy(code, f->bytes, (size_t)f->len);
  uint8_t *j = code + f->len;
  j[0] = 0xff; j[1] = 0x24; j[2] = 0x25;
  uint32_t a = CTL_ADDR + CTL_JMPRET; memcpy(j + 3, &a, 4);

  /* base state */
  struct state base;
  memset(&base, 0, sizeof base);
  for (int r = 0; r < 16; r++) base.gpr[r] = rnd();
  base.gpr[4] = RSP_VALUE;
  for (int r = 0; r < 16; r++) if (f->rk[r] == RK_PTR) base.gpr[r] = DATA_ADDR + f->rarg[r];
  for (int r = 0; r < 16; r++) if (f->rk[r] == RK_FIX) base.gpr[r] = f->rarg[r];
  base.rflags = 0x202;
  base.mxcsr = 0x1f80;
  if (f->sse) for (int x = 0; x < 16; x++) gen_x128(base.xmm[x]);

  uint16_t live = 0, xlive = 0;
  for (int r = 0; r < 16; r++) if (f->rk[r] != RK_BASE && f->rk[r] != RK_PTR && f->rk[r] != RK_FIX) live |= (uint16_t)(1 << r);
  for (int x = 0; x < 16; x++) if (f->xk[x] != XK_BASE) xlive |= (uint16_t)(1 << x);
  if (!f->sse && (xlive || f->mxcsr_live)) die(f->name, "xmm inputs in a non-SSE form");

  putstr(b, f->name);
  putstr(b, f->attrs);
  put8(b, (uint8_t)f->len); put(b, f->bytes, (size_t)f->len);
  put32(b, (f->sse ? 1u : 0u));
  put16(b, (uint16_t)f->win_off); put16(b, (uint16_t)f->win_len);
  put16(b, live); put16(b, xlive); put8(b, (uint8_t)(f->mxcsr_live ? 1 : 0));
  for (int r = 0; r < 16; r++) put64(b, base.gpr[r]);
  if (f->sse) { put(b, base.xmm, 256); put32(b, base.mxcsr); }
  put32(b, (uint32_t)f->nvec);

  static uint8_t snap_in[DATA_SIZE], snap_out[DATA_SIZE];
  for (int v = 0; v < f->nvec; v++) {
    struct state in = base;
    for (int r = 0; r < 16; r++) {
      uint64_t x = rnd();
      switch (f->rk[r]) {
        case RK_PTRJ: in.gpr[r] = DATA_ADDR + f->rarg[r] + below(8); break;
        case RK_PTR32J: in.gpr[r] = (x & ~0xffffffffull) | (DATA_ADDR + f->rarg[r] + below(8)); break;
        case RK_V8: in.gpr[r] = gen_val(8); break;
        case RK_V8H: in.gpr[r] = (x & ~0xff00ull) | ((gen_val(8) & 0xff) << 8); break;
        case RK_V16: in.gpr[r] = gen_val(16); break;
        case RK_V32: in.gpr[r] = gen_val(32); break;
        case RK_V64: in.gpr[r] = gen_val(64); break;
        case RK_CNT: in.gpr[r] = gen_cnt(); break;
        case RK_SMALL: in.gpr[r] = below((uint64_t)f->rarg[r] + 1); break;
        case RK_SMALL32: in.gpr[r] = (x & ~0xffffffffull) | below((uint64_t)f->rarg[r] + 1); break;
        case RK_BITOFF: { int w = f->rarg[r]; /* bit offset in [-4w, 4w) in the low w bits */
          in.gpr[r] = (x & ~mask(w)) | ((uint64_t)((int64_t)below(8 * (uint64_t)w) - 4 * w) & mask(w)); break; }
      }
    }
    in.rflags = 0x202 | (rnd() & 0x8d5) | (f->df ? rnd() & 0x400 : 0);
    for (int x = 0; x < 16; x++) if (f->xk[x] != XK_BASE) gen_x(f->xk[x], in.xmm[x]);
    if (f->mxcsr_live) in.mxcsr = gen_mxcsr();
    if (f->win_len) {
      for (int i = 0; i < f->win_len; i++) DATA[f->win_off + i] = (uint8_t)rnd();
      if (f->mk > MK_RAND) mem_value(f, DATA + f->mem_off);
    }
    fixup(&in, f);
    memcpy(snap_in, DATA, DATA_SIZE);

    *IN = in;
    memset(OUT, 0, sizeof *OUT);
    __asm__ volatile("" ::: "memory");
    int fault = run_one();
    if (fault >= 0 && fault_rip != INSN_ADDR) die(f->name, "fault outside the instruction under test");
    __asm__ volatile("cld; ldmxcsr %0" :: "m"(*(volatile uint32_t *)(CTL_ADDR + CTL_CMXCSR)));
    __asm__ volatile("" ::: "memory");
    struct state out = *OUT;
    memcpy(snap_out, DATA, DATA_SIZE);
    /* outside the window the page must be untouched: otherwise the form's window is wrong */
    for (int i = 0; i < DATA_SIZE; i++)
      if ((i < f->win_off || i >= f->win_off + f->win_len) && snap_in[i] != snap_out[i]) {
        fprintf(stderr, "byte 0x%x changed\n", i); die(f->name, "memory written outside the window");
      }
    if (!f->sse) {
      for (int x = 0; x < 16; x++) if (memcmp(out.xmm[x], in.xmm[x], 16)) die(f->name, "xmm changed by a non-SSE form");
      if (out.mxcsr != in.mxcsr) die(f->name, "MXCSR changed by a non-SSE form");
    }

    /* input */
    put32(b, (uint32_t)in.rflags);
    for (int r = 0; r < 16; r++) if (live >> r & 1) put64(b, in.gpr[r]);
    for (int x = 0; x < 16; x++) if (xlive >> x & 1) put(b, in.xmm[x], 16);
    if (f->mxcsr_live) put32(b, in.mxcsr);
    if (f->win_len) put(b, snap_in + f->win_off, (size_t)f->win_len);
    /* output */
    put8(b, (uint8_t)(fault < 0 ? 0xff : fault));
    if (fault >= 0) put32(b, (uint32_t)fault_err);
    uint16_t ch = 0;
    for (int r = 0; r < 16; r++) if (out.gpr[r] != in.gpr[r]) ch |= (uint16_t)(1 << r);
    put16(b, ch);
    for (int r = 0; r < 16; r++) if (ch >> r & 1) put64(b, out.gpr[r]);
    put32(b, (uint32_t)out.rflags);
    if (f->sse) {
      uint16_t xc = 0;
      for (int x = 0; x < 16; x++) if (memcmp(out.xmm[x], in.xmm[x], 16)) xc |= (uint16_t)(1 << x);
      put16(b, xc);
      for (int x = 0; x < 16; x++) if (xc >> x & 1) put(b, out.xmm[x], 16);
      put32(b, out.mxcsr);
    }
    if (f->win_len) {
      /* runs of changed bytes: u8 count, then (u16 offset, u16 length, bytes) */
      struct buf runs = { 0 }; uint8_t nr = 0;
      for (int i = 0; i < f->win_len;) {
        if (snap_in[f->win_off + i] == snap_out[f->win_off + i]) { i++; continue; }
        int k = i;
        while (k < f->win_len && snap_in[f->win_off + k] != snap_out[f->win_off + k]) k++;
        put16(&runs, (uint16_t)i); put16(&runs, (uint16_t)(k - i)); put(&runs, snap_out + f->win_off + i, (size_t)(k - i));
        if (++nr == 255) die(f->name, "too many changed runs");
        i = k;
      }
      put8(b, nr); if (runs.n) put(b, runs.p, runs.n);
      free(runs.p);
    }
    total_vectors++;
  }
  g->nforms++;
}

/* ------------------------------------------------------------------ header */
static void cpu_brand(char *out, size_t n) {
  unsigned r[12] = { 0 };
  unsigned max = __get_cpuid_max(0x80000000, 0);
  if (max < 0x80000004) { snprintf(out, n, "unknown"); return; }
  for (unsigned i = 0; i < 3; i++) __get_cpuid(0x80000002 + i, &r[4 * i], &r[4 * i + 1], &r[4 * i + 2], &r[4 * i + 3]);
  char s[49]; memcpy(s, r, 48); s[48] = 0;
  char *p = s; while (*p == ' ') p++;
  snprintf(out, n, "%s", p);
}
/* The hypervisor vendor (CPUID leaf 0x40000000) when CPUID.1:ECX[31] says one is present. */
static void hypervisor(char *out, size_t n) {
  unsigned a = 0, b = 0, c = 0, d = 0;
  __get_cpuid(1, &a, &b, &c, &d);
  if (!(c >> 31 & 1)) { snprintf(out, n, "none"); return; }
  __cpuid(0x40000000, a, b, c, d);
  char v[13]; memcpy(v, &b, 4); memcpy(v + 4, &c, 4); memcpy(v + 8, &d, 4); v[12] = 0;
  snprintf(out, n, "%s", v);
}
static void cpuinfo_field(const char *key, char *out, size_t n) {
  snprintf(out, n, "unknown");
  FILE *fp = fopen("/proc/cpuinfo", "r");
  if (!fp) return;
  char line[4096];
  size_t kl = strlen(key);
  while (fgets(line, sizeof line, fp)) {
    if (strncmp(line, key, kl) == 0 && (line[kl] == ' ' || line[kl] == '\t' || line[kl] == ':')) {
      char *c = strchr(line, ':'); if (!c) continue;
      c++; while (*c == ' ') c++;
      c[strcspn(c, "\n")] = 0;
      snprintf(out, n, "%s", c);
      break;
    }
  }
  fclose(fp);
}

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: recorder OUTDIR [FORM-SUBSTRING]\n"); return 2; }
  const char *outdir = argv[1], *only = argc > 2 ? argv[2] : NULL;

  uint8_t *code = mmap((void *)INSN_ADDR, 0x1000, PROT_READ | PROT_WRITE | PROT_EXEC,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  uint8_t *data = mmap((void *)DATA_ADDR, DATA_SIZE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  uint8_t *ctl = mmap((void *)CTL_ADDR, 0x1000, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (code != (void *)INSN_ADDR || data != (void *)DATA_ADDR || ctl != (void *)CTL_ADDR) {
    perror("mmap at a fixed address"); return 1;
  }
  *(uint64_t *)(ctl + CTL_JMPINSN) = INSN_ADDR;
  *(uint64_t *)(ctl + CTL_JMPRET) = (uint64_t)(uintptr_t)stub_return;
  *(uint32_t *)(ctl + CTL_CMXCSR) = 0x1f80;
  seed("data page");
  for (int i = 0; i < DATA_SIZE; i++) data[i] = (uint8_t)rnd();

  stack_t ss = { .ss_sp = malloc(1 << 16), .ss_size = 1 << 16, .ss_flags = 0 };
  if (sigaltstack(&ss, NULL)) { perror("sigaltstack"); return 1; }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  int sigs[] = { SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGTRAP };
  for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaction(sigs[i], &sa, NULL);

  for (int i = 0; i < NFORMS; i++) {
    if (only && !strstr(FORMS[i].name, only)) continue;
    record_form(&FORMS[i], code);
  }

  char hv[32];
  hypervisor(hv, sizeof hv);
  char brand[128], model[256], fam[64], mod[64], step[64], ucode[64], date[64];
  cpu_brand(brand, sizeof brand);
  cpuinfo_field("model name", model, sizeof model);
  cpuinfo_field("cpu family", fam, sizeof fam);
  cpuinfo_field("model", mod, sizeof mod);
  cpuinfo_field("stepping", step, sizeof step);
  cpuinfo_field("microcode", ucode, sizeof ucode);
  time_t now = time(NULL);
  strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
  struct utsname un; uname(&un);
  char header[2048];
  snprintf(header, sizeof header,
           "recorder: x86vmx-conformance-recorder %s\n"
           "cpu: %s\n"
           "cpuinfo-model-name: %s\n"
           "cpu-family-model-stepping: %s/%s/%s microcode %s\n"
           "hypervisor: %s\n"
           "kernel: %s %s\n"
           "date: %s\n"
           "insn-addr: 0x%x\ndata-addr: 0x%x\ndata-size: 0x%x\nrsp: 0x%x\n",
           RECORDER_VERSION, brand, model, fam, mod, step, ucode, hv, un.sysname, un.release, date,
           INSN_ADDR, DATA_ADDR, DATA_SIZE, RSP_VALUE);

  for (int gi = 0; gi < ngroups; gi++) {
    struct group *g = &groups[gi];
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.bin", outdir, g->name);
    FILE *fp = fopen(path, "wb");
    if (!fp) { perror(path); return 1; }
    fwrite("X86VEC01", 1, 8, fp);
    uint32_t hl = (uint32_t)strlen(header);
    fwrite(&hl, 4, 1, fp); fwrite(header, 1, hl, fp);
    fwrite(&g->nforms, 4, 1, fp);
    fwrite(g->b.p, 1, g->b.n, fp);
    fclose(fp);
    printf("%-10s %4u forms %9zu bytes\n", g->name, g->nforms, g->b.n);
  }
  printf("total vectors: %llu\n", (unsigned long long)total_vectors);
  return 0;
}
