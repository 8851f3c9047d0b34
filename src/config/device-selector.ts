/**
 * The `device:` of a portaudio source, read once here so validation and
 * capture agree on what it means: a numeric id, `/regex/flags`, or a name
 * (an exact match first, else a case-insensitive substring; `a|b` tries each
 * alternative in turn, as in `BlackHole|CABLE Output|monitor`).
 */

export type DeviceSelector =
  | { readonly kind: 'default' }
  | { readonly kind: 'id'; readonly id: number }
  | { readonly kind: 'pattern'; readonly pattern: RegExp }
  | { readonly kind: 'name'; readonly name: string };

const REGEX_LITERAL = /^\/(.*)\/([a-z]*)$/s;

/** Throws a TypeError saying what is wrong with a `/regex/`. */
export function parseDeviceSelector(device: string | number | undefined): DeviceSelector {
  if (device === undefined) return { kind: 'default' };
  if (typeof device === 'number') return { kind: 'id', id: device };
  const literal = REGEX_LITERAL.exec(device);
  if (literal === null) return { kind: 'name', name: device };
  const [, body, flags] = literal as unknown as [string, string, string];
  if (body === '') throw new TypeError('device // is an empty regular expression');
  const stateful = flags.replace(/[^gy]/g, '');
  if (stateful !== '') throw new TypeError(`device ${device}: flag ${stateful} makes matching depend on earlier matches; remove it`);
  try {
    return { kind: 'pattern', pattern: new RegExp(body, flags) };
  } catch (error) {
    const reason = (error as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '');
    throw new TypeError(`device ${device} is not a valid regular expression: ${reason}`, { cause: error });
  }
}

/** Characters that mean something in a regex and almost never appear in a device name (`|` is ours: alternatives). */
export function looksLikePattern(name: string): boolean {
  return /[*\\^$]|\.\*/.test(name);
}
