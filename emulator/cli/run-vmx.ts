// `x86vmx run IMAGE --vmx`: the image runs as a VMX guest of the hypervisor layer (emulator/vmm),
// optionally with dirty-page logging (--tracker) or sub-page tracking (--subpages) collected every
// --round instructions, and --stats prints VM exits by reason and the layer's events.
import { type Machine, type RunResult, STOP_NAMES } from '../machine/machine.ts';
import { StopReason } from '../cpu/state.ts';
import type { SerialBackend } from '../../devices/index.ts';
import { VmxMachine } from '../vmm/vmx-machine.ts';
import { TRACKERS, type DirtyTrackerKind } from '../hypervisor/dirty-log.ts';
import { EXIT_REASON_NAMES } from '../hypervisor/cost-model.ts';
import { dirtyPages } from '../hypervisor/memory-slots.ts';
import { popcount } from '../hypervisor/subpage.ts';
import { describeImage } from '../loader/index.ts';
import { type ParsedArgs, intFlag, UsageError } from './args.ts';

export const VMX_VALUE_FLAGS = ['tracker', 'round'];
export const VMX_BOOL_FLAGS = ['vmx', 'large-pages', 'subpages', 'no-predict'];

interface RoundLog { rounds: number; pages: number; subpages: number }

export function runVmx(staging: Machine, serial: SerialBackend, p: ParsedArgs, maxInsns: number, path: string, bytes: Uint8Array): RunResult {
  const tracker = p.flags.get('tracker');
  if (tracker !== undefined && (typeof tracker !== 'string' || !(TRACKERS as string[]).includes(tracker))) {
    throw new UsageError(`--tracker must be one of ${TRACKERS.join(', ')}`);
  }
  const subpages = p.flags.has('subpages');
  if (subpages && tracker !== undefined) throw new UsageError('--subpages and --tracker are alternatives (one tracker at a time)');
  if (p.flags.has('no-predict') && !subpages) throw new UsageError('--no-predict needs --subpages');
  const round = intFlag(p, 'round', 1_000_000, 1);
  const m = new VmxMachine({
    memoryMiB: staging.mem.ramSize / 1048576, serial, dirtyTracker: tracker as DirtyTrackerKind | undefined,
    largePages: p.flags.has('large-pages'), logDirtyPages: tracker !== undefined,
  });
  m.adopt(staging);
  if (subpages) m.vm.enableSubpageTracking({ prediction: !p.flags.has('no-predict') });
  const log: RoundLog = { rounds: 0, pages: 0, subpages: 0 };
  let r: RunResult;
  if (tracker === undefined && !subpages) r = m.run(maxInsns);
  else {
    // Rounds: run `round` instructions, collect the log (as a migrator's round would), repeat.
    const i0 = m.vm.cpu.icount;
    let seconds = 0;
    for (;;) {
      const left = maxInsns - (m.vm.cpu.icount - i0);
      r = m.run(Math.min(round, left));
      seconds += r.seconds;
      log.rounds++;
      if (subpages) for (const mask of m.vm.getSubpageDirtyLog().values()) log.subpages += popcount(mask);
      else log.pages += dirtyPages(m.vm.getDirtyLog(0)).length;
      if (r.reason !== StopReason.InsnLimit || left <= round) break;
    }
    r = { ...r, instructions: m.vm.cpu.icount - i0, seconds };
  }
  if (p.flags.has('stats')) printVmxStats(m, r, path, bytes, tracker as string | undefined, subpages, log);
  return r;
}

function printVmxStats(m: VmxMachine, r: RunResult, path: string, bytes: Uint8Array, tracker: string | undefined, subpages: boolean, log: RoundLog): void {
  const vm = m.vm, ex = vm.exits;
  const lines = [
    `--- x86vmx run statistics (VMX guest): ${path} (${describeImage(bytes)})`,
    `stop:          ${STOP_NAMES[r.reason]}${r.exitStatus >= 0 ? ` (status ${r.exitStatus})` : ''}`,
    `instructions:  ${r.instructions} (${m.vcpu.instructionsRetiredByVmm} completed by the hypervisor)`,
    `virtual time:  ${(r.ticks / 1e6).toFixed(3)} ms (${r.ticks} ticks)`,
    `host time:     ${r.seconds.toFixed(3)} s`,
    `speed:         ${(r.instructions / r.seconds / 1e6).toFixed(2)} MIPS`,
    `VM exits:      ${ex.totalExits()} by basic reason (SDM Vol. 3C Appendix C):`,
  ];
  for (const [reason, n] of [...ex.byReason].sort((a, b) => b[1] - a[1] || a[0] - b[0])) {
    lines.push(`  ${String(n).padStart(10)}  ${String(reason).padStart(2)} ${EXIT_REASON_NAMES[reason] ?? ''}`);
  }
  lines.push('hypervisor events:');
  for (const [e, n] of [...ex.counts].sort((a, b) => b[1] - a[1])) lines.push(`  ${String(n).padStart(10)}  ${e}`);
  if (tracker !== undefined) lines.push(`dirty log:     ${tracker}, ${log.rounds} rounds, ${log.pages} dirty pages reported in all`);
  if (subpages) {
    const s = vm.subpage.stats;
    lines.push(`sub-pages:     ${log.rounds} rounds, ${log.subpages} written sub-pages reported; prediction ${vm.subpage.prediction ? 'on' : 'off'}`);
    lines.push(`               ${s.sppViolations} SPP violations, ${s.sppMisses} SPP misses, ${s.predictions} predictions unprotecting ${s.predictedSubpages} sub-pages, ${s.pageWalkWrites} page-walk writes`);
  }
  lines.push(`EPT:           ${vm.mmu.mapped4k} 4 KiB and ${vm.mmu.mapped2m} 2 MiB mappings built lazily, ${vm.mmu.mmioPages.size} MMIO pages, ${(vm.structureBytes() / 1024).toFixed(0)} KiB of tables and structures`);
  const vmmInsns = ex.vmmInstructions();
  lines.push(`VMM cost:      ~${vmmInsns} host instructions by the cost model (emulator/hypervisor/README.md) = ${(100 * vmmInsns / Math.max(1, r.instructions)).toFixed(2)}% of guest instructions`);
  process.stderr.write(lines.join('\n') + '\n');
}
