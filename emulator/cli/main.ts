// x86vmx command line: run · debug · migrate · bench · measure-ips.
import { runCommand, RUN_USAGE, EXIT_USAGE } from './run.ts';
import { benchCommand } from './bench.ts';
import { measureIpsCommand } from './measure-ips.ts';
import { migrateCommand, MIGRATE_USAGE } from './migrate.ts';
import { incomingCommand, INCOMING_USAGE } from './incoming.ts';
import { UsageError } from './args.ts';
import { debugCommand, DEBUG_USAGE } from '../debugger/cli.ts';

const USAGE = `x86vmx — x86-64 emulator with VMX, EPT and SPP

commands:
  ${RUN_USAGE.replace('usage: ', '').replace(/\n/g, '\n  ')}
  ${DEBUG_USAGE.replace('usage: ', '')}
  ${MIGRATE_USAGE.replace('usage: ', '').replace(/\n/g, '\n  ')}
  ${INCOMING_USAGE.replace('usage: ', '')}
  x86vmx bench [--json FILE]
  x86vmx measure-ips [NAME[:ARG,ARG…]…] [--runs N] [--out FILE]
`;

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'run': return runCommand(rest);
      case 'debug': return await debugCommand(rest);
      case 'bench': return benchCommand(rest);
      case 'migrate': return await migrateCommand(rest);
      case 'incoming': return await incomingCommand(rest);
      case 'measure-ips': return measureIpsCommand(rest);
      case undefined: case 'help': case '--help': case '-h':
        process.stdout.write(USAGE); return cmd === undefined ? EXIT_USAGE : 0;
      default: throw new UsageError(`unknown command "${cmd}"\n${USAGE}`);
    }
  } catch (e) {
    if (e instanceof UsageError) { process.stderr.write(`x86vmx: ${e.message}\n`); return EXIT_USAGE; }
    throw e;
  }
}

// Run directly with tsx (npm start / npm run bench).
if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv.slice(2));
}
