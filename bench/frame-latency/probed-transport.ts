/** The real transport worker, with the benchmark's thread probe installed in its thread. */
import runPipelineAudio from '../../src/transport/audio-worker.js';
import { installThreadProbe } from '../lib/thread-probe.js';

installThreadProbe('transport');

export default runPipelineAudio;
