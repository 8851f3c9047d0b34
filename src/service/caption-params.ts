/**
 * Query parameters of /events and /captions, checked before anything is
 * served: a bad value is answered with a 400 naming the parameter and what
 * would be valid, never with a broken stream or page. Colours reach the
 * page's CSS, so only plain colour syntax passes.
 */

export interface EventsParams {
  /** Only these pipelines; undefined: all. */
  pipelines: readonly string[] | undefined;
  /** Finals only, no partials. */
  finalsOnly: boolean;
}

export interface CaptionsParams extends EventsParams {
  lines: number;
  labels: boolean;
  fontSizePx: number;
  color: string;
  background: string;
}

export type Checked<T> = { ok: true; params: T } | { ok: false; message: string };

const PIPELINE_NAME = /^[A-Za-z0-9_-]+$/;
const LINES = { min: 1, max: 20, default: 2 };
const FONT_SIZE = { min: 8, max: 300, default: 40 };
const HEX = /^#?([0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})$/i;
const RGB = /^rgba?\(\s*\d{1,3}\s*,\s*\d{1,3}\s*,\s*\d{1,3}\s*(,\s*(0|1|0?\.\d+)\s*)?\)$/i;
/** CSS named colours (CSS Color 4), and `transparent`. */
const NAMED_COLORS = new Set(
  `aliceblue antiquewhite aqua aquamarine azure beige bisque black blanchedalmond blue blueviolet brown burlywood
  cadetblue chartreuse chocolate coral cornflowerblue cornsilk crimson cyan darkblue darkcyan darkgoldenrod darkgray
  darkgreen darkgrey darkkhaki darkmagenta darkolivegreen darkorange darkorchid darkred darksalmon darkseagreen
  darkslateblue darkslategray darkslategrey darkturquoise darkviolet deeppink deepskyblue dimgray dimgrey dodgerblue
  firebrick floralwhite forestgreen fuchsia gainsboro ghostwhite gold goldenrod gray green greenyellow grey honeydew
  hotpink indianred indigo ivory khaki lavender lavenderblush lawngreen lemonchiffon lightblue lightcoral lightcyan
  lightgoldenrodyellow lightgray lightgreen lightgrey lightpink lightsalmon lightseagreen lightskyblue lightslategray
  lightslategrey lightsteelblue lightyellow lime limegreen linen magenta maroon mediumaquamarine mediumblue
  mediumorchid mediumpurple mediumseagreen mediumslateblue mediumspringgreen mediumturquoise mediumvioletred
  midnightblue mintcream mistyrose moccasin navajowhite navy oldlace olive olivedrab orange orangered orchid
  palegoldenrod palegreen paleturquoise palevioletred papayawhip peachpuff peru pink plum powderblue purple
  rebeccapurple red rosybrown royalblue saddlebrown salmon sandybrown seagreen seashell sienna silver skyblue slateblue
  slategray slategrey snow springgreen steelblue tan teal thistle tomato turquoise violet wheat white whitesmoke yellow
  yellowgreen transparent`.split(/\s+/),
);
const COLOR_HELP = 'a CSS colour name (white, transparent...), hex digits (ffcc00 or %23ffcc00) or rgb(r,g,b) / rgba(r,g,b,a)';

class ParamError extends Error {}

export function checkEventsParams(query: URLSearchParams): Checked<EventsParams> {
  return check(query, '/events', ['pipeline', 'finals'], () => ({
    pipelines: pipelineList(query),
    finalsOnly: flag(query, 'finals'),
  }));
}

export function checkCaptionsParams(query: URLSearchParams): Checked<CaptionsParams> {
  return check(query, '/captions', ['pipeline', 'finals', 'lines', 'labels', 'font_size', 'color', 'bg'], () => ({
    pipelines: pipelineList(query),
    finalsOnly: flag(query, 'finals'),
    lines: integer(query, 'lines', LINES),
    labels: flag(query, 'labels'),
    fontSizePx: integer(query, 'font_size', FONT_SIZE),
    color: color(query, 'color', 'white'),
    background: color(query, 'bg', 'transparent'),
  }));
}

function check<T>(query: URLSearchParams, route: string, known: readonly string[], read: () => T): Checked<T> {
  try {
    for (const name of new Set(query.keys())) {
      if (!known.includes(name)) throw new ParamError(`unknown parameter ${JSON.stringify(name)}: ${route} takes ${known.join(', ')}`);
      if (query.getAll(name).length > 1) throw new ParamError(`${name} is given more than once`);
    }
    return { ok: true, params: read() };
  } catch (error) {
    if (error instanceof ParamError) return { ok: false, message: error.message };
    throw error;
  }
}

function pipelineList(query: URLSearchParams): readonly string[] | undefined {
  const value = query.get('pipeline');
  if (value === null) return undefined;
  const names = value.split(',').map((name) => name.trim());
  const bad = names.find((name) => !PIPELINE_NAME.test(name));
  if (bad !== undefined) throw new ParamError(`pipeline: ${JSON.stringify(bad)} is not a pipeline name (letters, digits, _ and -; several separated by commas)`);
  return names;
}

function flag(query: URLSearchParams, name: string): boolean {
  const value = query.get(name);
  if (value === null) return false;
  if (value === '1' || value === 'true') return true;
  if (value === '0' || value === 'false') return false;
  throw new ParamError(`${name}: ${JSON.stringify(value)} is not valid; use 1 (or true) or 0 (or false)`);
}

function integer(query: URLSearchParams, name: string, range: { min: number; max: number; default: number }): number {
  const value = query.get(name);
  if (value === null) return range.default;
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(n >= range.min && n <= range.max)) throw new ParamError(`${name}: ${JSON.stringify(value)} is not valid; use a whole number from ${range.min} to ${range.max}`);
  return n;
}

function color(query: URLSearchParams, name: string, fallback: string): string {
  const value = query.get(name);
  if (value === null) return fallback;
  const trimmed = value.trim();
  if (NAMED_COLORS.has(trimmed.toLowerCase())) return trimmed.toLowerCase();
  if (HEX.test(trimmed)) return trimmed.startsWith('#') ? trimmed : `#${trimmed}`;
  if (RGB.test(trimmed)) return trimmed;
  throw new ParamError(`${name}: ${JSON.stringify(value)} is not a colour; use ${COLOR_HELP}`);
}
