/** A stand-in for the earshot CLI entry point: just the serve command, for tests that run it as a process. */
import { Command } from 'commander';
import { registerServeCommand } from '../../src/serve/command.js';

const program = new Command('earshot');
registerServeCommand(program);
await program.parseAsync(process.argv);
