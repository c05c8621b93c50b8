// `x86vmx incoming --listen PORT`: the destination of a migration in its own process. It accepts one
// connection on 127.0.0.1:PORT and applies the stream section by section as it arrives, refusing a
// bad one with the receiver's message. At the end it checks the source's RAM hash, resumes the guest
// (its serial output goes to stdout), and when the guest ends, answers the source with one JSON line:
// { ok, error?, ramVerified, exitStatus, instructions, output } (output = what it printed after resuming).
import { createServer, type Socket } from 'node:net';
import { BufferedSerial, STOP_NAMES } from '../machine/machine.ts';
import { VmxMachine } from '../vmm/vmx-machine.ts';
import { StreamReceiver, MigrationStreamError } from '../migration/receiver.ts';
import { targetOf } from '../migration/pseudo.ts';
import { MAGIC, HEADER_BYTES } from '../migration/stream.ts';
import { parseArgs, intFlag, UsageError } from './args.ts';

export const INCOMING_USAGE = 'usage: x86vmx incoming --listen PORT';

export interface IncomingResult { ok: boolean; error?: string; ramVerified?: boolean; exitStatus?: number; stop?: string; instructions?: number; output?: string }

/** Serve one migration on `port`; resolves with what was answered to the source. */
export function serveIncoming(port: number, log: (s: string) => void, echo: boolean): Promise<IncomingResult> {
  return new Promise((resolve, reject) => {
    const server = createServer({ allowHalfOpen: true }, (sock: Socket) => {
      server.close();
      let head = Buffer.alloc(0);
      let dst: VmxMachine | null = null, rx: StreamReceiver | null = null, failed: string | null = null;
      const serial = new BufferedSerial(echo ? (b) => process.stdout.write(String.fromCharCode(b)) : null);
      const answer = (r: IncomingResult) => { sock.end(JSON.stringify(r) + '\n'); resolve(r); };
      const fail = (e: unknown) => {
        if (failed !== null) return;
        failed = e instanceof MigrationStreamError ? e.message : (e as Error).stack ?? String(e);
        log(`incoming: refused: ${failed}`);
        answer({ ok: false, error: failed });
      };
      sock.on('data', (chunk: Buffer) => {
        if (failed !== null) return;
        try {
          if (rx === null) {
            head = Buffer.concat([head, chunk]);
            if (head.length < HEADER_BYTES) return;
            if (head.readUInt32BE(0) !== MAGIC) throw new MigrationStreamError('not a migration stream');
            const ram = head.readUInt32BE(8) * 4294967296 + head.readUInt32BE(12);
            if (ram % 1048576 !== 0 || ram < 8 << 20 || ram > 1 << 30) throw new MigrationStreamError(`guest RAM of ${ram} bytes is not supported here`);
            dst = new VmxMachine({ memoryMiB: ram / 1048576, serial });
            rx = new StreamReceiver(targetOf(dst));
            log(`incoming: ${ram / 1048576} MiB guest`);
            chunk = head;
          }
          rx.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
        } catch (e) { fail(e); }
      });
      sock.on('end', () => {
        if (failed !== null) return;
        try {
          if (rx === null || dst === null) throw new MigrationStreamError('the connection closed before the stream header');
          rx.finish();
          log(`incoming: stream complete (${rx.stats.rounds} rounds, ${rx.stats.bytes} bytes), RAM hash ${rx.ramVerified ? 'matches the source' : 'not checked'}; resuming the guest`);
          const r = dst.run();
          answer({ ok: true, ramVerified: rx.ramVerified, exitStatus: r.exitStatus, stop: STOP_NAMES[r.reason], instructions: dst.vm.cpu.icount, output: serial.text() });
        } catch (e) { fail(e); }
      });
      sock.on('error', (e) => { if (failed === null) { failed = e.message; resolve({ ok: false, error: e.message }); } });
    });
    server.on('error', reject);
    server.listen(port, '127.0.0.1', () => log(`incoming: listening on 127.0.0.1:${port}`));
  });
}

export async function incomingCommand(argv: string[]): Promise<number> {
  const p = parseArgs(argv, new Set(['listen']), new Set());
  if (!p.flags.has('listen') || p.positional.length) throw new UsageError(INCOMING_USAGE);
  const port = intFlag(p, 'listen', 0, 1, 65535);
  const r = await serveIncoming(port, (s) => process.stderr.write(s + '\n'), true);
  if (!r.ok) return 1;
  return r.exitStatus !== undefined && r.exitStatus >= 0 ? r.exitStatus : 1;
}
