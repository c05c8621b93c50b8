// The workload programs run natively (they are static Linux x86-64 executables on our own libc,
// using raw system calls only): at the default size each exits 0, prints its description line,
// only passing self-checks ("check: ... ok") and the expected checksum, identically twice.
// Also: their code stays within the ISA the emulator implements for them (no x87, MMX, SSE3+,
// AVX), checked with guest-images/check-isa.sh where objdump exists.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { APPS, canRunNatively, elfPath, root } from './apps.ts';

function run(file: string, args: string[] = []) {
  const r = spawnSync(file, args, { encoding: 'latin1', timeout: 30_000 });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, error: r.error };
}

describe('workload binaries', () => {
  for (const app of APPS) {
    it(`${app.name}.elf is committed as an executable static x86-64 ELF`, () => {
      const st = statSync(elfPath(app.name));
      expect(st.mode & 0o111, 'executable bit').not.toBe(0);
      const b = readFileSync(elfPath(app.name));
      expect(b.readUInt32BE(0)).toBe(0x7f454c46);
      expect(b[4]).toBe(2); // ELFCLASS64
      expect(b[5]).toBe(1); // little-endian
      expect(b.readUInt16LE(16)).toBe(2); // ET_EXEC (not PIE)
      expect(b.readUInt16LE(18)).toBe(62); // EM_X86_64
      const phoff = Number(b.readBigUInt64LE(32)), phentsize = b.readUInt16LE(54), phnum = b.readUInt16LE(56);
      const types = Array.from({ length: phnum }, (_, i) => b.readUInt32LE(phoff + i * phentsize));
      expect(types).toContain(1); // PT_LOAD
      expect(types).not.toContain(2); // no PT_DYNAMIC
      expect(types).not.toContain(3); // no PT_INTERP: static
    });
  }
});

describe.skipIf(!canRunNatively)('workloads natively (default size)', () => {
  for (const app of APPS) {
    it(`${app.name}: exits 0, self-checks pass, prints checksum=${app.checksum}`, () => {
      const r = run(elfPath(app.name));
      expect(r.error).toBeUndefined();
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const lines = r.stdout.split('\n');
      expect(lines.pop()).toBe(''); // ends with a newline
      expect(lines[0].startsWith(`${app.name}: `)).toBe(true);
      const checks = lines.filter((l) => l.startsWith('check: '));
      expect(checks.length).toBeGreaterThan(0);
      for (const c of checks) expect(c).toMatch(/ ok$/);
      expect(lines.at(-1)).toMatch(/^checksum=0x[0-9a-f]{16}$/);
      expect(lines.at(-1)).toBe(`checksum=${app.checksum}`);
      // deterministic: a second run prints exactly the same
      expect(run(elfPath(app.name)).stdout).toBe(r.stdout);
    });
  }

  it('a bad size argument gives a usage message and exit status 2', () => {
    const r = run(elfPath('stencil'), ['lots']);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^usage: .*stencil\.elf \[N \[STEPS\]\]\n/);
  });

  it('the size arguments change the work (and the checksum)', () => {
    const a = run(elfPath('lz-compress'), ['4']);
    expect(a.status).toBe(0);
    expect(a.stdout).toContain('over 4 KiB of generated input');
    expect(a.stdout.split('\n').at(-2)).not.toBe(`checksum=${APPS.find((x) => x.name === 'lz-compress')!.checksum}`);
  });
});

function haveObjdump(): boolean {
  return spawnSync('objdump', ['--version'], { stdio: 'ignore' }).status === 0;
}

describe.skipIf(!haveObjdump())('ISA of the workload binaries', () => {
  it('no x87, MMX, SSE3+ or AVX instruction in any program (check-isa.sh)', () => {
    const r = spawnSync('bash', [join(root, 'guest-images', 'check-isa.sh'), ...APPS.map((a) => elfPath(a.name))], { encoding: 'latin1' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
