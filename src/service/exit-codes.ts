/**
 * What `earshot run` exits with, so a supervisor (systemd, launchd, a
 * script) can tell a file to fix from a failure worth a restart.
 * docs/service.md lists them for users; keep the two in step.
 */
export const ExitCode = {
  /** Stopped by SIGINT/SIGTERM after a clean drain, or every source came to its end. */
  ok: 0,
  /** The pipeline file is unreadable or invalid: nothing was started; restarting will not help. */
  configInvalid: 1,
  /** A pipeline failed for good (its transcriber refused it, its worker kept crashing); the others ran on until stopped. */
  pipelineFailed: 3,
  /** The service could not start: a device, a sink or plugin, the HTTP port. */
  startFailed: 4,
  /** Stopped at once: a second SIGINT/SIGTERM, or the graceful stop outran service.shutdown_timeout_ms. */
  forced: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];
