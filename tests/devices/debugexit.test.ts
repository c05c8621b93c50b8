// Our debug-exit convention (devices/debugexit.ts): OUT V → exit status V & 0xFF; IN → all ones.
import { describe, expect, it } from 'vitest';
import { DebugExit } from '../../devices/debugexit.ts';

describe('debug-exit port', () => {
  it('reports V & 0xFF for any access size', () => {
    const seen: number[] = [];
    const d = new DebugExit(s => seen.push(s));
    expect(d.exitStatus).toBe(-1);
    d.portOut(0xf4, 1, 0);
    d.portOut(0xf4, 2, 0x1234);
    d.portOut(0xf4, 4, 0xdeadbeef);
    expect(seen).toEqual([0, 0x34, 0xef]);
    expect(d.exitStatus).toBe(0xef);
  });

  it('reads as all ones', () => {
    const d = new DebugExit(() => {});
    expect(d.portIn(0xf4, 1)).toBe(0xff);
    expect(d.portIn(0xf4, 2)).toBe(0xffff);
    expect(d.portIn(0xf4, 4)).toBe(0xffffffff);
  });
});
