/** Every check beyond the schema, in one list. */
import type { Check } from './check-context.js';
import { checkSinks } from './check-sinks.js';
import { checkSources } from './check-sources.js';
import { checkSingleLines } from './check-strings.js';
import { checkTranscribers } from './check-transcribers.js';

export const CHECKS: readonly Check[] = [checkSources, checkTranscribers, checkSinks, checkSingleLines];
