// hwlen: ask the host CPU how long an instruction is and whether it decodes, in user mode.
//
// For each line of hex bytes on stdin, prints the line and a verdict:
//   len N   the CPU fetched exactly N bytes and executed the instruction (it then trapped on the
//           single-step #DB, or faulted while executing: #PF on data, #GP, #DE, ...)
//   gp N    the same, but it raised #GP(0) without a page-fault address: a privileged (or otherwise
//           refused) instruction of length N, or a #GP the CPU gives before deciding #UD
//   ud N    #UD (SIGILL) with the first N bytes available and byte N+1 not
//   skip    not run (SYSCALL, SYSENTER, INT n: they would leave user mode)
//   ?       anything else (timeout, unexpected signal)
//
// Method: the first k bytes are placed at the end of an executable page whose successor is not
// mapped, k = 1..15. If the CPU needs byte k+1 it takes a #PF on the instruction fetch at the page
// boundary, with RIP still at the instruction; the first k at which that does not happen is the
// length (SDM Vol. 3A 6.15: an instruction fetch #PF reports the faulting linear address in CR2 and
// RIP of the instruction). Each try runs in a fresh child: it enters the bytes through
// sigreturn with all general registers 0, RSP on a scratch stack and RFLAGS.TF set, so exactly one
// instruction runs and any signal ends the child, which reports the signal through shared memory.
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#define CODE_PAGE  0x3f0000000000UL /* nothing else within +-2 GiB: RIP-relative operands miss */
#define STACK_BASE 0x3e0000000000UL
#define STACK_SIZE 0x10000UL

struct result { int done, signo, code; uint64_t addr, rip, trapno, err; };
static volatile struct result *res;
static volatile int stage;
static uint64_t entry;
static char altstack[1 << 16];

static void hard_exit(void) {
  __asm__ volatile("mov $231, %%eax\n xor %%edi, %%edi\n syscall" ::: "rax", "rdi", "memory");
  for (;;) {}
}

static void handler(int sig, siginfo_t *si, void *uc_) {
  ucontext_t *uc = uc_;
  greg_t *g = uc->uc_mcontext.gregs;
  if (stage == 0) { // the int3 below: enter the probed bytes with TF set
    stage = 1;
    for (int r = 0; r < NGREG; r++) if (r != REG_EFL && r != REG_CSGSFS) g[r] = 0;
    g[REG_RSP] = STACK_BASE + STACK_SIZE / 2;
    g[REG_RIP] = entry;
    g[REG_EFL] = 0x202 | 0x100;
    return;
  }
  res->signo = sig; res->code = si->si_code; res->addr = (uint64_t)si->si_addr;
  res->rip = g[REG_RIP]; res->trapno = g[REG_TRAPNO]; res->err = g[REG_ERR];
  res->done = 1;
  hard_exit();
}

/* Run the first k bytes of b at the end of the code page; fills *r. */
static void try_bytes(const uint8_t *b, int k, struct result *r) {
  memset((void *)res, 0, sizeof *res);
  pid_t pid = fork();
  if (pid == 0) {
    uint8_t *page = (uint8_t *)CODE_PAGE;
    memset(page, 0xcc, 4096);
    memcpy(page + 4096 - k, b, k);
    entry = CODE_PAGE + 4096 - k;
    stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0 };
    sigaltstack(&ss, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    int sigs[] = { SIGTRAP, SIGSEGV, SIGILL, SIGBUS, SIGFPE };
    for (unsigned i = 0; i < sizeof sigs / sizeof *sigs; i++) sigaction(sigs[i], &sa, 0);
    alarm(2);
    stage = 0;
    __asm__ volatile("int3");
    _exit(99);
  }
  int st;
  waitpid(pid, &st, 0);
  *r = *(struct result *)res;
}

static int hexval(int c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1; }

static int dangerous(const uint8_t *b, int n) {
  int k = 0;
  while (k < n) {
    uint8_t x = b[k];
    if (x == 0x66 || x == 0x67 || x == 0xf0 || x == 0xf2 || x == 0xf3 || x == 0x26 || x == 0x2e || x == 0x36 ||
        x == 0x3e || x == 0x64 || x == 0x65 || (x & 0xf0) == 0x40) { k++; continue; }
    break;
  }
  if (k >= n) return 0;
  if (b[k] == 0xcd) return 1;                                   // INT n
  if (b[k] == 0x0f && k + 1 < n && (b[k + 1] == 0x05 || b[k + 1] == 0x34 || b[k + 1] == 0x07 || b[k + 1] == 0x35)) return 1;
  return 0;
}

int main(void) {
  res = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mmap((void *)CODE_PAGE, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != (void *)CODE_PAGE ||
      mmap((void *)STACK_BASE, STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != (void *)STACK_BASE) {
    perror("mmap"); return 1;
  }
  char line[512];
  while (fgets(line, sizeof line, stdin)) {
    uint8_t b[16]; int n = 0;
    for (char *p = line; *p && n < 16; ) {
      int h = hexval(p[0]);
      if (h < 0) { p++; continue; }
      int l = hexval(p[1]);
      if (l < 0) { p++; continue; }
      b[n++] = (uint8_t)(h * 16 + l); p += 2;
    }
    line[strcspn(line, "\n")] = 0;
    if (n == 0) continue;
    if (dangerous(b, n)) { printf("%s\tskip\n", line); continue; }
    char verdict[32] = "?";
    for (int k = 1; k <= (n < 15 ? n : 15); k++) {
      struct result r;
      try_bytes(b, k, &r);
      if (!r.done) { snprintf(verdict, sizeof verdict, "?"); break; }
      if (r.signo == SIGSEGV && r.trapno == 14 && r.addr == CODE_PAGE + 4096 && r.rip == CODE_PAGE + 4096 - k) continue;
      if (r.signo == SIGILL) snprintf(verdict, sizeof verdict, "ud %d", k);
      else if (r.signo == SIGSEGV && r.trapno == 13) snprintf(verdict, sizeof verdict, "gp %d", k);
      else snprintf(verdict, sizeof verdict, "len %d", k);
      break;
    }
    printf("%s\t%s\n", line, verdict);
    fflush(stdout);
  }
  return 0;
}
