/** The piscina task of designs (b) and (c): one pipeline's transport in a transport thread. */
import type { MessagePort } from 'node:worker_threads';
import type { PipelineConfig } from '../../src/config/schema.js';
import { installThreadProbe } from '../lib/thread-probe.js';
import { carryFrames, type CarryReport } from './message-transport.js';

installThreadProbe('transport');

export interface MessageTransportTask {
  pipeline: string;
  config: PipelineConfig;
  frames: MessagePort;
  /** Says `streaming` once the session is open. */
  control: MessagePort;
}

export default async function messageTransportTask(task: MessageTransportTask): Promise<CarryReport> {
  try {
    return await carryFrames({ ...task, onStreaming: () => task.control.postMessage('streaming') });
  } finally {
    task.control.close();
  }
}
