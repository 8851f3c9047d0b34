/** A bad `earshot serve` setting: the message names the flag or file and what would be valid. */
export class ServeConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServeConfigError';
  }
}
