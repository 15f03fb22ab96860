import { type Config, ConfigError, loadConfig } from '../config.js';

/** The server's configuration for a command-line tool: a bad variable is a message and exit code 2, not a stack. */
export function loadCliConfig(): Config {
  try {
    return loadConfig();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    console.error(e.message);
    process.exit(2);
  }
}
