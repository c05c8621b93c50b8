// VPID- and EPTP-tagged TLB entries (SDM Vol. 3C 29.4.1-29.4.3). Instead of comparing a tag on every
// access, each (VPID, EPT root) context owns its own TLB arrays and a VMX transition switches
// `Cpu.tlb` between them, so the hot path is unchanged. With "enable VPID" = 1 neither VM entry nor
// VM exit invalidates anything (the host keeps its VPID-0 translations and the guest keeps its own);
// with it 0, both invalidate the VPID-0 mappings the guest shares with the host (29.4.3.3).
// INVVPID and INVEPT invalidate the contexts they name (30.3); combined mappings under EPT are
// tagged by VPID and the EPT root, so INVEPT single-context drops every context of that root.
import type { Cpu } from '../cpu/state.ts';
import { Tlb } from '../cpu/tlb.ts';

/** Contexts kept at most; the oldest is dropped beyond this (dropping cached translations is always allowed). */
const MAX_CONTEXTS = 32;
const ROOT_SCALE = 4096;

interface Context { vpid: number; eptRoot: number; tlb: Tlb }

export class TlbContexts {
  /** The CPU's own TLB (VMX root operation, and guests without VPID). */
  root: Tlb | null = null;
  private readonly ctx = new Map<number, Context>();
  /** True while a guest with VPID runs on a tagged context (the exit then keeps the host's entries). */
  private tagged = false;

  private use(c: Cpu, t: Tlb): void {
    if (c.tlb === t) return;
    (c as { tlb: Tlb }).tlb = t;
    c.fetchLin = NaN; // the fetch cache belongs to the previous context
  }

  /** At VM entry: the guest's context (VPID enabled) or the shared VPID-0 TLB, invalidated. */
  enter(c: Cpu, vpidEnabled: boolean, vpid: number, eptRoot: number): void {
    if (this.root === null) this.root = c.tlb;
    if (!vpidEnabled) {
      this.tagged = false;
      this.use(c, this.root);
      this.root.flushAll();
      return;
    }
    const key = vpid * 2 ** 28 + eptRoot / ROOT_SCALE;
    let e = this.ctx.get(key);
    if (e === undefined) {
      if (this.ctx.size >= MAX_CONTEXTS) this.ctx.delete(this.ctx.keys().next().value as number);
      const t = new Tlb();
      t.onFlush = this.root.onFlush;
      e = { vpid, eptRoot, tlb: t };
      this.ctx.set(key, e);
    }
    this.tagged = true;
    this.use(c, e.tlb);
  }

  /** At VM exit (and VM-entry failure): back to the host's TLB; invalidated only if the guest shared it. */
  exit(c: Cpu): void {
    if (this.root === null) { c.tlb.flushAll(); return; }
    this.use(c, this.root);
    if (!this.tagged) this.root.flushAll();
    this.tagged = false;
  }

  /** INVVPID (SDM 30.3): type 0 one page (`vpn`), 1 one VPID, 2 every VPID but 0, 3 one VPID keeping globals. */
  invvpid(type: number, vpid: number, vpn: number): void {
    for (const e of this.ctx.values()) {
      if (type !== 2 && e.vpid !== vpid) continue;
      if (type === 0) e.tlb.flushPage(vpn);
      else if (type === 3) e.tlb.flushNonGlobal();
      else e.tlb.flushAll();
    }
  }

  /** INVEPT (SDM 30.3): type 1 the contexts of one EPT root, type 2 every EPT context. */
  invept(type: number, eptRoot: number): void {
    for (const e of this.ctx.values()) {
      if (e.eptRoot === 0) continue; // no EPT: no combined or guest-physical mappings
      if (type === 1 && e.eptRoot !== eptRoot) continue;
      e.tlb.flushAll();
    }
  }

  /** Number of tagged contexts (tests, statistics). */
  get size(): number { return this.ctx.size; }
}
