/**
 * Which module a piscina pool's threads run. Piscina loads a thread's module
 * with require(), and Node 20's require() of an ES module aborts the whole
 * process (V8 fatal error "IsGraphAsync must be used on an instantiated
 * module") when the thread is terminated while that module is being linked,
 * as when earshot exits during start-up (a plugin refusing its options, a
 * signal). So every pool loads a CommonJS entry that import()s the real
 * module, which a termination merely cancels.
 */
const THREAD_ENTRY = new URL('./thread-entry.cjs', import.meta.url);

export function threadModule(module: URL): { filename: string; workerData: { module: string } } {
  return { filename: THREAD_ENTRY.href, workerData: { module: module.href } };
}
