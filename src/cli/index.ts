#!/usr/bin/env node
/**
 * The `rampart` command.
 */

import { readFileSync } from 'node:fs';
import { AUDIT_HELP, runAudit } from './audit.ts';

const HELP = `Usage: rampart <command> [options]

Commands:
  audit <url>    check a running site against the seed's security practices
                 (rampart audit --help for its options)

Options:
  -h, --help     this help
  -v, --version  the version
`;

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'dev';
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    if (command === 'help' && rest[0] === 'audit') process.stdout.write(AUDIT_HELP);
    else process.stdout.write(HELP);
    return command === undefined ? 3 : 0;
  }
  if (command === '-v' || command === '--version') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  if (command === 'audit') return runAudit(rest, { stdout: process.stdout, stderr: process.stderr }, version());
  process.stderr.write(`rampart: unknown command "${command}".\n${HELP}`);
  return 3;
}

process.exitCode = await main(process.argv.slice(2));
