// Minimal argument parsing for the CLI: --flag value, --flag=value, boolean flags, and "--" passthrough.
export class UsageError extends Error {
  constructor(message: string) { super(message); this.name = 'UsageError'; }
}

export interface ParsedArgs {
  positional: string[];
  flags: Map<string, string | true>;
  /** Arguments after a bare "--". */
  rest: string[];
}

export function parseArgs(argv: string[], valueFlags: Set<string>, boolFlags: Set<string>): ParsedArgs {
  const out: ParsedArgs = { positional: [], flags: new Map(), rest: [] };
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k];
    if (a === '--') { out.rest = argv.slice(k + 1); break; }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      if (valueFlags.has(name)) {
        let v: string | undefined = eq >= 0 ? a.slice(eq + 1) : argv[++k];
        if (v === undefined) throw new UsageError(`--${name} needs a value`);
        out.flags.set(name, v);
      } else if (boolFlags.has(name)) {
        if (eq >= 0) throw new UsageError(`--${name} takes no value`);
        out.flags.set(name, true);
      } else throw new UsageError(`unknown option --${name}`);
    } else out.positional.push(a);
  }
  return out;
}

export function intFlag(p: ParsedArgs, name: string, def: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const v = p.flags.get(name);
  if (v === undefined) return def;
  if (v === true) throw new UsageError(`--${name} needs a value`);
  const n = /^0x[0-9a-f]+$/i.test(v) ? parseInt(v, 16) : /^\d+(e\d+)?$/i.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name}: expected an integer in [${min}, ${max}], got "${v}"`);
  return n;
}
