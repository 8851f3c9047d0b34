/**
 * The real audio host, plus a fault: while EARSHOT_TEST_HOST_FAULT_MS is set
 * (the environment is shared by every thread), the first host thread to see
 * it clears it and throws an uncaught error from a timer that many ms later,
 * in the middle of capturing, as a bug in the host would.
 */
import type { MessagePort } from 'node:worker_threads';
import audioHost from '../../src/capture/audio-host.js';

export default function faultyAudioHost(task: { port: MessagePort }): Promise<void> {
  const faultMs = process.env.EARSHOT_TEST_HOST_FAULT_MS;
  if (faultMs !== undefined) {
    delete process.env.EARSHOT_TEST_HOST_FAULT_MS;
    setTimeout(() => {
      throw new Error('injected fault in the audio host');
    }, Number(faultMs));
  }
  return audioHost(task);
}
