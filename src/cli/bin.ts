import { removeScratchOnSignals } from '../util/scratch.js';
import { processIO } from './io.js';
import { main } from './main.js';

/** The `berth` executable: the only place that sets the process exit code. */
export async function run(argv: string[]): Promise<void> {
  // Interrupted (Ctrl-C, a CI job cancelled), berth removes its work folders and temporary files.
  removeScratchOnSignals();
  process.exitCode = await main(argv, processIO());
}
