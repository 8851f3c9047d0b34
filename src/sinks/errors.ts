/**
 * Errors a built-in sink throws when its options or its environment are wrong.
 * The message names the sink, the field or path, and what would be valid, so
 * the runner can print it as is.
 */
export class SinkConfigError extends Error {
  override readonly name = 'SinkConfigError';
  constructor(
    /** The sink's name (`file#1`). */
    readonly sink: string,
    /** The option at fault, as a path (`rotate.max_bytes`). */
    readonly field: string,
    message: string,
  ) {
    super(`${sink}: ${field}: ${message}`);
  }
}

/** An I/O failure on a sink's file, spool or socket; `path` names what failed. */
export class SinkIoError extends Error {
  override readonly name = 'SinkIoError';
  constructor(
    readonly sink: string,
    readonly path: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`${sink}: ${message} (${path})`, options);
  }
}
