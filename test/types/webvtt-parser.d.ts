// The parts of webvtt-parser (CommonJS, no bundled types) the tests use.
declare module 'webvtt-parser' {
  export interface WebVTTNode {
    type?: string;
    name?: string;
    value?: string;
    children?: WebVTTNode[];
  }
  export interface WebVTTCue {
    id: string;
    startTime: number;
    endTime: number;
    text: string;
    tree: WebVTTNode;
  }
  export interface WebVTTParseResult {
    cues: WebVTTCue[];
    errors: { message: string; line: number; col: number }[];
  }
  export class WebVTTParser {
    constructor(entities?: Record<string, string>);
    parse(input: string, mode?: 'metadata' | 'chapters' | 'subtitles'): WebVTTParseResult;
  }
  const webvtt: { WebVTTParser: typeof WebVTTParser };
  export default webvtt;
}
