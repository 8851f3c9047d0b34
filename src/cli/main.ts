/** The `earshot` command line. */
import { Command, CommanderError } from 'commander';
import { AudioHostClient } from '../capture/audio-host-client.js';
import { formatDeviceTable, LOOPBACK_SETUP } from '../capture/devices.js';
import { renderJsonSchema } from '../config/json-schema.js';
import { validateCommand } from '../config/validate.js';
import { registerServeCommand } from '../serve/command.js';
import { registerControlCommands } from '../service/control-client.js';
import { runService } from '../service/run.js';

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) process.exit(error.exitCode);
    console.error(`earshot: ${(error as Error).message}`);
    process.exit(1);
  }
}

export function buildProgram(): Command {
  const program = new Command('earshot')
    .description('Transcribe what this computer plays, in real time.')
    .showHelpAfterError();

  program
    .command('run')
    .description('run every pipeline in a file until SIGINT/SIGTERM (a second signal stops at once); SIGHUP reloads the file')
    .argument('<pipeline.yaml>', 'the pipeline file')
    .action(async (file: string) => {
      const code = await runService(file);
      // Exit now: a forced stop may leave a socket or a plugin's timer that would keep the process alive.
      await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
      process.exit(code);
    });

  program
    .command('schema')
    .description('print the JSON Schema of pipeline files (for editors: completion, hover docs, checks as you type)')
    .action(() => {
      process.stdout.write(renderJsonSchema());
    });

  program
    .command('validate')
    .description('check a pipeline file; print each problem and exit 1, or exit 0')
    .argument('<pipeline.yaml>', 'the pipeline file')
    .option('--json', 'print the problems as JSON')
    .action(async (file: string, options: { json?: boolean }) => {
      process.exitCode = await validateCommand(file, { json: options.json === true, stdout: process.stdout, stderr: process.stderr });
    });

  program
    .command('devices')
    .description('list capture devices; loopback-looking ones are marked')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const host = new AudioHostClient();
      await host.start();
      try {
        const devices = await host.listDevices();
        if (options.json) {
          console.log(JSON.stringify(devices, null, 2));
        } else {
          console.log(formatDeviceTable(devices));
          if (!devices.some((d) => d.loopback)) console.log('\nNo loopback device found.\n' + LOOPBACK_SETUP);
        }
      } finally {
        await host.stop();
      }
    });

  registerControlCommands(program);
  registerServeCommand(program);
  return program;
}
