#!/usr/bin/env node
/**
 * The `flux` command. Each subcommand is a thin layer over `lib/`: parse options, show progress, print a summary.
 */
import { runFlux } from './main.js';

process.exitCode = await runFlux(process.argv.slice(2));
