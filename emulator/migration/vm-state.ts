// The non-RAM state that stop-and-copy sends (QEMU's device and CPU sections): the vCPU (the VMCS
// guest-state area, the pending event-injection fields, the CR0/CR4 shadows, and the registers VMX
// does not keep in the VMCS: general registers, SSE state, CR2, the SYSCALL MSRs), the virtual
// clock (retired instructions and halted ticks), and every device (in-kernel PIC/PIT/LAPIC and the
// user-space UART, CMOS, fw_cfg), captured field by field.
import type { Cpu } from '../cpu/state.ts';
import { hostVmread, hostVmwrite } from '../vmx/index.ts';
import { LAYOUT, fieldType, fieldWidth, T_GUEST, W64, GUEST_PML_INDEX, ENTRY_INTR_INFO, ENTRY_EXCEPTION_ERROR,
  ENTRY_INSN_LEN, CR0_GUEST_HOST_MASK, CR4_GUEST_HOST_MASK, CR0_READ_SHADOW, CR4_READ_SHADOW, PROC_CTLS, ENTRY_CTLS } from '../vmx/fields.ts';
import { PROC_INT_WINDOW, ENTRY_IA32E } from '../vmx/capabilities.ts';
import type { VmxMachine } from '../vmm/vmx-machine.ts';

/** A JSON-safe value tree (typed arrays become { t: name, v: number[] }; non-finite numbers are strings). */
export type Snapshot = { [k: string]: unknown };

// ---------------------------------------------------------------- devices, field by field

const SKIP = new Set(['clock', 'irq', 'serial', 'backend', 'lines', 'items', 'files', 'onExit', 'selected']);
type Rec = Record<string, unknown>;

function isLink(v: object): boolean {
  if (v instanceof Map || v instanceof Set) return true;
  return Object.values(v).some((x) => typeof x === 'function');
}

/** Own data fields of a device object, recursing into its parts (counters, chips), skipping links to other objects. */
export function captureObject(o: object): Snapshot {
  const out: Snapshot = {};
  for (const [k, v] of Object.entries(o as Rec)) {
    if (SKIP.has(k) || typeof v === 'function') continue;
    out[k] = captureValue(v);
  }
  return out;
}

function captureValue(v: unknown): unknown {
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'boolean' || typeof v === 'string' || v === null || v === undefined) return v ?? null;
  if (ArrayBuffer.isView(v)) return { t: v.constructor.name, v: Array.from(v as unknown as ArrayLike<number>) };
  if (Array.isArray(v)) return v.map(captureValue);
  if (typeof v === 'object' && !isLink(v)) return captureObject(v);
  return undefined;
}

export function restoreObject(o: object, s: Snapshot): void {
  const t = o as Rec;
  for (const [k, sv] of Object.entries(s)) {
    if (sv === undefined || !(k in t)) continue;
    const cur = t[k];
    if (ArrayBuffer.isView(cur)) (cur as unknown as { set(a: number[]): void }).set((sv as { v: number[] }).v);
    else if (Array.isArray(cur)) {
      (sv as unknown[]).forEach((x, i) => {
        if (typeof cur[i] === 'object' && cur[i] !== null && !ArrayBuffer.isView(cur[i])) restoreObject(cur[i] as object, x as Snapshot);
        else cur[i] = restoreValue(x);
      });
    } else if (typeof cur === 'object' && cur !== null && !isLink(cur)) restoreObject(cur, sv as Snapshot);
    else t[k] = restoreValue(sv);
  }
}

function restoreValue(v: unknown): unknown {
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  if (v === 'NaN') return NaN;
  return v;
}

// ---------------------------------------------------------------- the vCPU and the clock

const VMCS_EXTRA = [ENTRY_INTR_INFO, ENTRY_EXCEPTION_ERROR, ENTRY_INSN_LEN, CR0_GUEST_HOST_MASK, CR4_GUEST_HOST_MASK, CR0_READ_SHADOW, CR4_READ_SHADOW];
const CPU_SCALARS = ['mxcsr', 'cr2', 'star', 'starHi', 'lstar', 'cstar', 'sfmask', 'kernelGsBase', 'tscAux', 'tscOffset',
  'patLo', 'patHi', 'miscEnable', 'icount', 'haltTicks', 'userInsns', 'userSince', 'cpl'] as const;

function vmcsFields(): number[] {
  const out: number[] = [];
  for (const [enc] of LAYOUT) {
    if (fieldType(enc) !== T_GUEST || enc === GUEST_PML_INDEX) continue;
    if (fieldWidth(enc) === W64 && (enc & 1)) continue; // high halves: the full 64-bit encoding covers them
    out.push(enc);
  }
  return out.concat(VMCS_EXTRA);
}

function captureCpu(c: Cpu): Snapshot {
  const s: Snapshot = { rl: Array.from(c.rl), rh: Array.from(c.rh), xmm: Array.from(c.xmm), dr: Array.from(c.dr) };
  for (const k of CPU_SCALARS) s[k] = (c as unknown as Rec)[k];
  return s;
}

export interface VmStateSnapshot { vmcs: [number, string][]; intWindow: boolean; ia32e: boolean; cpu: Snapshot; devices: Record<string, Snapshot> }

/** Capture the whole non-RAM state of a stopped VmxMachine (between vcpu.run calls). */
export function captureVmState(m: VmxMachine): VmStateSnapshot {
  const c = m.vm.cpu;
  m.vcpu.getRegs(); // makes this vCPU's VMCS current and its registers the CPU's
  const vmcs: [number, string][] = [];
  for (const enc of vmcsFields()) {
    try { vmcs.push([enc, hostVmread(c, enc).toString()]); } catch { /* a field of a feature not offered */ }
  }
  const d = m.devices();
  return {
    vmcs, intWindow: (Number(hostVmread(c, PROC_CTLS)) & PROC_INT_WINDOW) !== 0,
    ia32e: (Number(hostVmread(c, ENTRY_CTLS)) & ENTRY_IA32E) !== 0,
    cpu: captureCpu(c),
    devices: Object.fromEntries(Object.entries(d).map(([k, o]) => [k, captureObject(o)])),
  };
}

/** Load a captured state into a fresh VmxMachine of the same shape (the migration destination). */
export function restoreVmState(m: VmxMachine, s: VmStateSnapshot): void {
  const c = m.vm.cpu;
  m.vcpu.getRegs();
  for (const [enc, v] of s.vmcs) {
    const st = hostVmwrite(c, enc, BigInt(v));
    if (st !== 0) throw new Error(`restore: VMWRITE 0x${enc.toString(16)} failed (${st})`);
  }
  const proc = Number(hostVmread(c, PROC_CTLS)), entry = Number(hostVmread(c, ENTRY_CTLS));
  hostVmwrite(c, PROC_CTLS, (s.intWindow ? proc | PROC_INT_WINDOW : proc & ~PROC_INT_WINDOW) >>> 0);
  hostVmwrite(c, ENTRY_CTLS, (s.ia32e ? entry | ENTRY_IA32E : entry & ~ENTRY_IA32E) >>> 0);
  const cs = s.cpu;
  c.rl.set(cs.rl as number[]); c.rh.set(cs.rh as number[]); c.xmm.set(cs.xmm as number[]); c.dr.set(cs.dr as number[]);
  for (const k of CPU_SCALARS) (c as unknown as Rec)[k] = cs[k];
  const d = m.devices();
  for (const [k, snap] of Object.entries(s.devices)) {
    const o = d[k];
    if (!o) throw new Error(`restore: the destination has no device '${k}'`);
    restoreObject(o, snap);
  }
  m.vcpu.afterRestore(s.intWindow);
}
