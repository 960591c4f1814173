import type { Command } from '../command.js';

/** Every berth command, in the order `berth --help` lists them. */
export const commands: Command<any>[] = [];
