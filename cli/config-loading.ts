// Loading the configuration for a command: the --config option, else REGISTRY_CONFIGURATION_PATH.
import { resolve } from 'node:path';
import { CONFIG_PATH_VARIABLE } from '../common/config/env.js';
import { ConfigError, loadConfig, type LoadedConfig } from '../common/config/load.js';
import { CommandError } from './usage.js';

/** Loads and validates; a bad configuration becomes a CommandError listing every problem. */
export function loadForCommand(configFile: string | undefined): LoadedConfig & { configPath: string | undefined } {
  const configPath = configFile !== undefined ? resolve(configFile) : process.env[CONFIG_PATH_VARIABLE] || undefined;
  try {
    return { ...loadConfig({ configPath }), configPath };
  } catch (error) {
    if (error instanceof ConfigError) {
      printWarnings(error.warnings);
      throw new CommandError(error.message);
    }
    throw error;
  }
}

export function printWarnings(warnings: readonly string[]): void {
  for (const warning of warnings) process.stderr.write(`registry: warning: ${warning}\n`);
}
