/**
 * The module every piscina pool of earshot's loads in its threads (see
 * thread-module.ts for why): CommonJS, so piscina's require() of it is
 * plain, and it import()s the real ES module named in the pool's workerData.
 */
import { workerData } from 'piscina';

type Handler = (task: unknown) => unknown;

let handler: Promise<Handler> | undefined;

async function load(): Promise<Handler> {
  const { module } = workerData as { module: string };
  const namespace = (await import(module)) as { default: Handler };
  return namespace.default;
}

export = async function runThreadTask(task: unknown): Promise<unknown> {
  handler ??= load();
  return (await handler)(task);
};
