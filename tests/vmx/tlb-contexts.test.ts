// VPID- and EPT-tagged TLB contexts (SDM Vol. 3C 29.4): which VMX transitions and which INVVPID /
// INVEPT types invalidate which cached translations. The expectations are the SDM's rules:
// 29.4.3.3 (VM entries and exits invalidate VPID-0 mappings only when "enable VPID" is 0), 30.3
// INVVPID types 0-3 and INVEPT types 1-2.
import { describe, it, expect } from 'vitest';
import { makeVmxCpu } from './vmx-harness.ts';
import { vmxOf } from '../../emulator/vmx/state.ts';
import { TLB_MASK } from '../../emulator/cpu/tlb.ts';
import type { Cpu } from '../../emulator/cpu/state.ts';

const P_ALL = 0x3f;
function cache(c: Cpu, vpn: number): void { c.tlb.fill(vpn, vpn * 4096 % (1 << 24), P_ALL, 0); }
function cached(c: Cpu, vpn: number): boolean { return c.tlb.vpn[vpn & TLB_MASK] === vpn; }

describe('TLB contexts tagged by VPID and EPT root', () => {
  it('with VPID enabled, neither VM entry nor VM exit drops the host\'s or the guest\'s translations', () => {
    const c = makeVmxCpu().cpu, t = vmxOf(c).tlbs;
    const host = c.tlb;
    cache(c, 0x111);
    t.enter(c, true, 5, 0x7000);
    expect(c.tlb).not.toBe(host);
    expect(cached(c, 0x111)).toBe(false); // the guest does not see host translations
    cache(c, 0x222);
    t.exit(c);
    expect(c.tlb).toBe(host);
    expect(cached(c, 0x111)).toBe(true);
    t.enter(c, true, 5, 0x7000);
    expect(cached(c, 0x222)).toBe(true); // same VPID and EPT root: same context
    t.exit(c);
    t.enter(c, true, 6, 0x7000);
    expect(cached(c, 0x222)).toBe(false); // another VPID
    t.exit(c);
  });

  it('with VPID disabled, VM entry and VM exit invalidate the shared VPID-0 translations', () => {
    const c = makeVmxCpu().cpu, t = vmxOf(c).tlbs;
    const host = c.tlb;
    cache(c, 0x111);
    t.enter(c, false, 0, 0);
    expect(c.tlb).toBe(host);
    expect(cached(c, 0x111)).toBe(false);
    cache(c, 0x222);
    t.exit(c);
    expect(cached(c, 0x222)).toBe(false);
  });

  it('INVVPID: individual address drops one page, single context one VPID, all contexts every VPID; globals survive type 3', () => {
    const c = makeVmxCpu().cpu, t = vmxOf(c).tlbs;
    const fillCtx = (vpid: number, global: boolean) => {
      t.enter(c, true, vpid, 0); cache(c, 0x10); cache(c, 0x11);
      if (global) c.tlb.perm[0x11 & TLB_MASK] |= 64; // P_GLOBAL
      t.exit(c);
    };
    const has = (vpid: number, vpn: number) => { t.enter(c, true, vpid, 0); const r = cached(c, vpn); t.exit(c); return r; };
    fillCtx(1, true); fillCtx(2, false);
    t.invvpid(0, 1, 0x10);
    expect([has(1, 0x10), has(1, 0x11), has(2, 0x10)]).toEqual([false, true, true]);
    t.invvpid(3, 1, 0);
    expect(has(1, 0x11)).toBe(true); // global kept by single-context-retaining-globals
    t.invvpid(1, 1, 0);
    expect([has(1, 0x11), has(2, 0x10)]).toEqual([false, true]);
    cache(c, 0x99); // a host translation
    t.invvpid(2, 0, 0);
    expect([has(2, 0x10), cached(c, 0x99)]).toEqual([false, true]); // all contexts except VPID 0
  });

  it('INVEPT: single context drops the contexts of that EPT root only; all contexts drops every EPT context', () => {
    const c = makeVmxCpu().cpu, t = vmxOf(c).tlbs;
    const fillCtx = (vpid: number, root: number) => { t.enter(c, true, vpid, root); cache(c, 0x20); t.exit(c); };
    const has = (vpid: number, root: number) => { t.enter(c, true, vpid, root); const r = cached(c, 0x20); t.exit(c); return r; };
    fillCtx(1, 0x8000); fillCtx(2, 0x8000); fillCtx(1, 0x9000); fillCtx(3, 0);
    t.invept(1, 0x8000);
    expect([has(1, 0x8000), has(2, 0x8000), has(1, 0x9000), has(3, 0)]).toEqual([false, false, true, true]);
    t.invept(2, 0);
    expect([has(1, 0x9000), has(3, 0)]).toEqual([false, true]); // a context without EPT holds no EPT-derived mappings
  });
});
