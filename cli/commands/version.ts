// `registry version`: this build's version and the Node.js running it.
import { readFileSync } from 'node:fs';
import { parseCommandLine } from '../usage.js';

const HELP = `Usage: registry version

Prints the registry version and the Node.js version.
`;

export function registryVersion(): string {
  // dist/cli/commands/version.js -> package.json at the project root.
  const packageJson = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return packageJson.version ?? 'unknown';
}

export function versionCommand(args: string[]): number {
  if (!parseCommandLine('version', args, {}, HELP)) return 0;
  process.stdout.write(`registry ${registryVersion()} (node ${process.versions.node})\n`);
  return 0;
}
