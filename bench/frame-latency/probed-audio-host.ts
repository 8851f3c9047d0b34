/** The real audio host, with the benchmark's thread probe installed in its thread. */
import audioHost from '../../src/capture/audio-host.js';
import { installThreadProbe } from '../lib/thread-probe.js';

installThreadProbe('audio-host');

export default audioHost;
