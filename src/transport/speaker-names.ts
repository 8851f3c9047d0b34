/**
 * The pipeline's `speakers` map (`{ A: "Alice", B: "Bob" }`) applied to the
 * service's speaker labels. A renamed speaker keeps its label beside the name
 * (`speaker_label`), so nothing the service said is lost; a label the map
 * does not name (`UNKNOWN` unless the map names it) passes through as is.
 */
export type SpeakerNames = Readonly<Record<string, string>>;

/** The label the service gives a turn or word it could not attribute. */
export const UNKNOWN_SPEAKER = 'UNKNOWN';

/** `speaker` (and `speaker_label` when renamed) for a turn or revision; nothing without a label. */
export function nameSpeaker(label: string | undefined, names: SpeakerNames | undefined): { speaker?: string; speaker_label?: string } {
  if (label === undefined) return {};
  const name = names !== undefined && Object.hasOwn(names, label) ? names[label] : undefined;
  return name === undefined ? { speaker: label } : { speaker: name, speaker_label: label };
}

/** A word's speaker: the name when the map gives one, else the label. */
export function wordSpeaker(label: string | undefined, names: SpeakerNames | undefined): { speaker?: string } {
  const { speaker } = nameSpeaker(label, names);
  return speaker === undefined ? {} : { speaker };
}
