// The real transport: `x86vmx incoming --listen PORT` in one process, `x86vmx migrate … --to
// tcp://127.0.0.1:PORT` in another. The destination verifies the source's RAM hash, resumes the
// guest and prints the rest of its output; the source checks that the two halves equal a run that
// never migrated. A corrupted stream sent to `incoming` is refused with the bad record named.
import { describe, it, expect } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { serveIncoming } from '../../emulator/cli/incoming.ts';
import { StreamWriter, SectionWriter, writeHeader, S_ROUND, HEADER_BYTES } from '../../emulator/migration/stream.ts';

const CLI = 'bin/x86vmx.mjs';
const GAME = 'guest-images/build/apps/game-search.elf';

function waitForListening(child: ReturnType<typeof spawn>): Promise<void> {
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => { err += d.toString(); if (err.includes('listening on')) resolve(); });
    child.on('exit', (code) => reject(new Error(`incoming exited early (${code}): ${err}`)));
  });
}

describe('migration over TCP', () => {
  it('migrate --to tcp:// → incoming: verified, resumed, output equals a run that never migrated', async () => {
    const port = 47000 + Math.floor(Math.random() * 2000);
    const dst = spawn('node', [CLI, 'incoming', '--listen', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let dstOut = '';
    dst.stdout!.on('data', (d: Buffer) => { dstOut += d.toString('latin1'); });
    await waitForListening(dst);
    const src = spawnSync('node', [CLI, 'migrate', GAME, '--method', 'spp', '--memory', '16', '--downtime', '5ms', '--ips-scale', '0.1',
      '--start-after', '200000', '--to', `tcp://127.0.0.1:${port}`, '--', '1', '5', '5'], { encoding: 'latin1', timeout: 120_000 });
    const dstCode = await new Promise<number | null>((resolve) => dst.on('exit', resolve));
    expect(src.status, src.stderr).toBe(0);
    expect(src.stderr).toMatch(/TCP destination: RAM hash matches, resumed and ran to exit \(status 0, \d+ instructions\); output equals the never-migrated run/);
    expect(dstCode).toBe(0);
    // The never-migrated run ends with the same checksum line the destination printed.
    const bare = spawnSync('node', [CLI, 'run', GAME, '--', '1', '5', '5'], { encoding: 'latin1' });
    const last = bare.stdout.trim().split('\n').pop()!;
    expect(last).toMatch(/^checksum=0x[0-9a-f]{16}$/);
    expect(dstOut.trim().split('\n').pop()).toBe(last);
  }, 150_000);

  it('a corrupted stream is refused by the destination, naming the record, and nothing runs', async () => {
    const port = 49000 + Math.floor(Math.random() * 2000);
    const logs: string[] = [];
    const served = serveIncoming(port, (s) => logs.push(s), false);
    await new Promise((r) => setTimeout(r, 50));
    // A 16 MiB stream whose second record has an unknown flag (0x100).
    const w = new StreamWriter(), sec = new SectionWriter(w);
    writeHeader(w, { ramBytes: 16 << 20, method: '4k' });
    sec.begin(S_ROUND, 1);
    sec.page(0x1000, new Uint8Array(4096).fill(7));
    w.u64(0x2000 + 0x100); // record 2: bad flags
    w.bytes(new Uint8Array(4096));
    sec.end(true);
    const bytes = w.take();
    expect(bytes[HEADER_BYTES + 5 + 8 + 4096 + 6]).toBe(0x21); // the flags byte of record 2 as written (0x2000 | 0x100 → …21 00)
    const reply = await new Promise<string>((resolve, reject) => {
      let got = '';
      const s = connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => { s.end(bytes); });
      s.on('data', (d) => { got += d.toString(); });
      s.on('end', () => resolve(got));
      s.on('error', reject);
    });
    const r = await served;
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/round 1, record 2 \(byte \d+\): unknown record flags 0x100/);
    expect(JSON.parse(reply).ok).toBe(false);
    expect(logs.join('\n')).toMatch(/refused/);
  }, 30_000);
});
