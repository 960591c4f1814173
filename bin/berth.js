#!/usr/bin/env node
import { run } from '../dist/cli/bin.js';

run(process.argv.slice(2));
