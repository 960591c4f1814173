import type { Command } from '../command.js';
import { baseCommand } from './base.js';
import { buildCommand } from './build.js';
import { copyCommand } from './copy.js';
import { indexCommand } from './index-command.js';
import { inspectCommand } from './inspect.js';
import { keygenCommand } from './keygen.js';
import { loginCommand, logoutCommand } from './login.js';
import { pullCommand } from './pull.js';
import { pushCommand } from './push.js';
import { releaseCommand } from './release.js';
import { signCommand } from './sign.js';
import { statusCommand } from './status.js';
import { tagsCommand } from './tags.js';
import { verifyCommand } from './verify.js';
import { versionCommand } from './version.js';
import { imagesCommand } from './images.js';
import { loadCommand } from './load.js';
import { cacheCommand } from './cache.js';

/** Every berth command, in the order `berth --help` lists them. */
export const commands: Command<any>[] = [buildCommand, inspectCommand, baseCommand, statusCommand, tagsCommand, pushCommand, pullCommand, copyCommand, indexCommand, releaseCommand, signCommand, verifyCommand, keygenCommand, imagesCommand, loadCommand, loginCommand, logoutCommand, cacheCommand, versionCommand];
