// Pseudo-migration (digest-000 §5.2): pre-copy rounds whose duration comes from the bytes they send,
// T_i = M_i / bandwidth, while the source guest runs N_i = IPS × T_i instructions in the emulator;
// what it wrote is the next round's data. Round 1 sends all of guest memory. When a round's data
// fits in the downtime limit, the guest stops and that data goes with the CPU and device state
// (stop-and-copy). The destination is a second VM fed the same stream; afterwards its memory and
// state are compared with the source's, and it runs the workload to its end.
import { StopReason } from '../cpu/state.ts';
import { VmxMachine } from '../vmm/vmx-machine.ts';
import { BufferedSerial } from '../machine/machine.ts';
import type { DirtyTrackerKind } from '../hypervisor/dirty-log.ts';
import { dirtyPages } from '../hypervisor/memory-slots.ts';
import { DEFAULT_COSTS, type CostEvent } from '../hypervisor/cost-model.ts';
import { StreamWriter, SectionWriter, writeHeader, S_ROUND, S_STATE, S_RAM_HASH, S_EOF, PAGE, type Method } from './stream.ts';
import { StreamReceiver, type ReceiveTarget } from './receiver.ts';
import { RamSender, type RoundCounts } from './sender.ts';
import { captureVmState, restoreVmState, type VmStateSnapshot } from './vm-state.ts';
import { compareMachines, ramHash } from './verify.ts';

export interface MigrationConfig {
  method: Method;
  tracker: DirtyTrackerKind;
  /** Bits per second (default 1 Gbit/s). */
  bandwidth: number;
  downtimeMs: number;
  maxRounds: number;
  /** Guest instructions per second of the workload on real hardware. */
  ips: number;
  /** XBZRLE cache bytes (default: 512 MB scaled to the guest, see defaultCacheBytes). */
  xbzrleCacheBytes?: number;
  /**
   * Guest instructions run before the migration starts (the workload is running when it begins).
   * A negative value -f means the fraction f of a run that never migrated (pseudoMigrate's
   * `referenceInstructions`), e.g. -0.25: a quarter of the way through the workload.
   */
  startAfter: number;
  /** Called with each round's report as it completes. */
  onRound?: (r: RoundReport) => void;
  /** Send the stream elsewhere too (a socket); the in-process destination is always fed. */
  sink?: (bytes: Uint8Array) => void;
  /** Called once the last byte has been given to `sink`. */
  onFinish?: () => void;
}

export interface RoundReport extends RoundCounts {
  round: number;
  bytes: number;
  seconds: number;
  guestInstructions: number;
  sppFaults: number;
  stopAndCopy: boolean;
}

export interface MigrationReport {
  method: Method;
  tracker: DirtyTrackerKind | null;
  converged: boolean;
  /** null when not converged (nothing to verify). */
  verified: boolean | null;
  verifyMessage: string;
  guestFinishedInRound: number | null;
  totalSeconds: number;
  downtimeMs: number;
  bytes: number;
  rounds: RoundReport[];
  formatNsPerPage: number;
  memoryOverhead: { xbzrleCacheBytes: number; sppTableBytes: number };
  runtimeOverhead: { vmmInstructions: number; guestInstructions: number; ratio: number; events: Record<string, number> };
  xbzrleCacheBytes: number;
  output: string;
  /** What the source printed before stop-and-copy (a remote destination prints the rest). */
  outputBeforeStop: string;
}

/** The paper's 512 MB cache for a 1 GB guest, scaled to this guest's RAM (and never above 512 MB). */
export function defaultCacheBytes(ramBytes: number): number {
  return Math.min(512 << 20, Math.floor(ramBytes / 2 / PAGE) * PAGE);
}

/** Events that tracking costs the VMM (the paper's Fig. 10 counts SPP events; we count each method's). */
const TRACKING_EVENTS: CostEvent[] = ['dirty-fault', 'pml-full', 'pml-entry', 'dirty-scan', 'spp-violation', 'spp-miss', 'spp-reprotect', 'invept'];

export type Boot = (opts: { dirtyTracker?: DirtyTrackerKind }) => VmxMachine;

export function pseudoMigrate(boot: Boot, cfg: MigrationConfig, reference: string | null, referenceInstructions = 0): MigrationReport {
  const pageMethod = cfg.method === '4k' || cfg.method === 'xbzrle';
  const src = boot({ dirtyTracker: pageMethod ? cfg.tracker : undefined });
  const vm = src.vm, cpu = vm.cpu;
  const startAfter = cfg.startAfter >= 0 ? cfg.startAfter : Math.round(-cfg.startAfter * referenceInstructions);
  if (startAfter > 0) src.run(startAfter);
  // Tracking starts with round 1.
  if (pageMethod) vm.setMemoryRegion({ slot: 0, guestPhysAddr: 0, size: src.ramBytes, logDirtyPages: true });
  else vm.enableSubpageTracking({ prediction: cfg.method === 'spp' });
  const cacheBytes = cfg.xbzrleCacheBytes ?? defaultCacheBytes(src.ramBytes);
  const sender = new RamSender(cfg.method, vm, cacheBytes);
  const events0 = new Map(vm.exits.counts), i0 = cpu.icount;

  const dstSerial = new BufferedSerial();
  const dst = new VmxMachine({ memoryMiB: src.ramBytes / 1048576, serial: dstSerial });
  const receiver = new StreamReceiver(targetOf(dst));
  const w = new StreamWriter(), sec = new SectionWriter(w);
  const ship = (): Uint8Array => { const b = w.take(); receiver.push(b); cfg.sink?.(b); return b; };
  writeHeader(w, { ramBytes: src.ramBytes, method: cfg.method });

  const rounds: RoundReport[] = [];
  const threshold = cfg.bandwidth / 8 * cfg.downtimeMs / 1000;
  let converged = false, finishedIn: number | null = null, pending: { pages?: number[]; subpages?: Map<number, number> } = {};
  for (let round = 1; ; round++) {
    const sppBefore = vm.subpage.stats.sppViolations;
    sec.begin(S_ROUND, round);
    const counts = round === 1 ? sender.allPages(sec)
      : pageMethod ? sender.pages(sec, pending.pages!) : sender.subpages(sec, pending.subpages!);
    sec.end(true);
    const stop = round > 1 && w.len <= threshold;
    if (stop) { // stop-and-copy: the remaining pages plus the CPU and devices, guest paused
      if (src.serial instanceof BufferedSerial) dstSerial.feed(src.serial.remaining()); // host-side input not yet read
      sec.begin(S_STATE, round);
      sec.blob(new TextEncoder().encode(JSON.stringify(captureVmState(src))));
      sec.end(false);
      sec.begin(S_RAM_HASH, round);
      sec.raw(Buffer.from(ramHash(src), 'hex'));
      sec.end(false);
      sec.begin(S_EOF, round);
      sec.end(false);
    }
    const bytes = ship().length;
    const seconds = bytes * 8 / cfg.bandwidth;
    let ran = 0;
    if (!stop) {
      const n = Math.round(cfg.ips * seconds);
      const before = cpu.icount;
      if (finishedIn === null) {
        const r = src.run(n);
        if (r.reason !== StopReason.InsnLimit) finishedIn = round;
      }
      ran = cpu.icount - before;
      if (pageMethod) pending = { pages: dirtyPages(vm.getDirtyLog(0)) };
      else pending = { subpages: vm.getSubpageDirtyLog() };
    }
    const rep: RoundReport = { ...counts, round, bytes, seconds, guestInstructions: ran, sppFaults: vm.subpage.stats.sppViolations - sppBefore, stopAndCopy: stop };
    rounds.push(rep);
    cfg.onRound?.(rep);
    if (stop) { converged = true; break; }
    if (round >= cfg.maxRounds) break;
  }

  cfg.onFinish?.();
  const guestInstructions = cpu.icount - i0;
  const events: Record<string, number> = {};
  for (const e of TRACKING_EVENTS) { const d = vm.exits.get(e) - (events0.get(e) ?? 0); if (d) events[e] = d; }
  const vmmInstructions = Object.entries(events).reduce((a, [e, k]) => a + k * (DEFAULT_COSTS[e as CostEvent] ?? 0), 0);
  const last = rounds[rounds.length - 1];
  const formatted = rounds.reduce((a, r) => a + r.pagesFormatted, 0);
  const report: MigrationReport = {
    method: cfg.method, tracker: pageMethod ? cfg.tracker : null, converged, verified: null, verifyMessage: 'not converged: nothing to verify',
    guestFinishedInRound: finishedIn,
    totalSeconds: rounds.reduce((a, r) => a + r.seconds, 0), downtimeMs: converged ? last.seconds * 1000 : NaN,
    bytes: rounds.reduce((a, r) => a + r.bytes, 0), rounds,
    formatNsPerPage: formatted ? rounds.reduce((a, r) => a + r.formatNs, 0) / formatted : 0,
    memoryOverhead: { xbzrleCacheBytes: sender.cache ? cacheBytes : 0, sppTableBytes: (vm.mmu.spp?.tablePages ?? 0) * PAGE },
    runtimeOverhead: { vmmInstructions, guestInstructions, ratio: guestInstructions ? vmmInstructions / guestInstructions : 0, events },
    xbzrleCacheBytes: cacheBytes, output: '', outputBeforeStop: serialText(src),
  };
  if (!converged) { report.output = serialText(src); return report; }

  // Verification: nothing lost. Memory and state first, then the destination runs to the end.
  receiver.finish();
  const diff = compareMachines(src, dst);
  if (diff !== null) { report.verified = false; report.verifyMessage = diff; return report; }
  const before = serialText(src);
  dst.run();
  const after = serialText(dst);
  report.output = before + after;
  if (reference !== null && report.output !== reference) {
    let i = 0;
    while (i < reference.length && reference[i] === report.output[i]) i++;
    report.verified = false;
    report.verifyMessage = `output differs from the never-migrated run at byte ${i}`;
    return report;
  }
  report.verified = true;
  report.verifyMessage = reference === null ? 'memory and state equal (no reference output)' : 'memory, CPU and device state equal; output equals the never-migrated run';
  return report;
}

/** What a machine's serial backend has printed (a BufferedSerial keeps it; others do not). */
function serialText(m: VmxMachine): string { return m.serial instanceof BufferedSerial ? m.serial.text() : ''; }

/** The destination VM as the receiver sees it. */
export function targetOf(dst: VmxMachine): ReceiveTarget {
  return {
    ramBytes: dst.ramBytes,
    readPage: (gpa) => dst.vm.mem.u8.subarray(dst.vm.hpaOf(gpa), dst.vm.hpaOf(gpa) + PAGE),
    writeRam: (gpa, data) => dst.vm.writeGuest(gpa, data),
    applyState: (s) => restoreVmState(dst, s as VmStateSnapshot),
    ramHash: () => ramHash(dst),
  };
}
