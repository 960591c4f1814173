import { processIO } from './io.js';
import { main } from './main.js';

/** The `berth` executable: the only place that sets the process exit code. */
export async function run(argv: string[]): Promise<void> {
  process.exitCode = await main(argv, processIO());
}
