/**
 * GET /captions: a self-contained page (no external assets) that follows
 * /events and shows live captions, for an OBS browser source or any browser:
 * the last `lines` finals, under them each pipeline's current partial,
 * rewritten in place until its final replaces it. Transparent by default so
 * it sits over video. Transcript text is untrusted: it only ever goes in
 * with textContent, and the page's CSP forbids anything but its own inline
 * script and style and its connection back to this server.
 */
import { randomBytes } from 'node:crypto';
import type { CaptionsParams } from './caption-params.js';

export interface CaptionsPage {
  html: string;
  /** The Content-Security-Policy header to serve it with. */
  csp: string;
}

export function captionsPage(params: CaptionsParams): CaptionsPage {
  const nonce = randomBytes(16).toString('base64');
  const events = new URLSearchParams();
  if (params.pipelines) events.set('pipeline', params.pipelines.join(','));
  if (params.finalsOnly) events.set('finals', '1');
  const config = { events: `events${events.size > 0 ? `?${events.toString()}` : ''}`, lines: params.lines, labels: params.labels };
  // Colours and sizes were checked (caption-params.ts), so they are plain CSS tokens; `<` is escaped in the JSON all the same.
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>earshot captions</title>
<style nonce="${nonce}">
  html, body { margin: 0; background: ${params.background}; }
  body { color: ${params.color}; font: 600 ${params.fontSizePx}px/1.25 system-ui, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
  #captions { position: fixed; left: 0; right: 0; bottom: 0; padding: 0.25em 0.5em; text-shadow: 0 0 0.12em #000, 0 0 0.06em #000; }
  .line { white-space: pre-wrap; overflow-wrap: anywhere; }
  .partial { opacity: 0.8; }
  .label { opacity: 0.75; margin-right: 0.4em; }
</style>
</head>
<body>
<div id="captions" aria-live="polite"><div id="finals"></div><div id="partials"></div></div>
<script nonce="${nonce}">
"use strict";
const config = ${JSON.stringify(config).replace(/</g, '\\u003c')};
const finals = document.getElementById("finals");
const partials = document.getElementById("partials");
const partialOf = new Map();

function fill(element, event) {
  element.replaceChildren();
  if (config.labels) {
    const label = document.createElement("span");
    label.className = "label";
    label.textContent = (event.label || event.pipeline) + ":";
    element.append(label);
  }
  const text = document.createElement("span");
  text.className = "text";
  text.textContent = event.text;
  element.append(text);
}

function onPartial(event) {
  let element = partialOf.get(event.pipeline);
  if (event.text === "") {
    element?.remove();
    partialOf.delete(event.pipeline);
    return;
  }
  if (!element) {
    element = document.createElement("div");
    element.className = "line partial";
    element.dataset.pipeline = event.pipeline;
    partials.append(element);
    partialOf.set(event.pipeline, element);
  }
  fill(element, event);
}

function onFinal(event) {
  partialOf.get(event.pipeline)?.remove();
  partialOf.delete(event.pipeline);
  if (event.text === "") return;
  const element = document.createElement("div");
  element.className = "line final";
  element.dataset.pipeline = event.pipeline;
  fill(element, event);
  finals.append(element);
  while (finals.children.length > config.lines) finals.firstElementChild.remove();
}

// EventSource reconnects by itself, sending Last-Event-ID: the server then replays the finals missed meanwhile.
const source = new EventSource(config.events);
source.addEventListener("partial", (message) => onPartial(JSON.parse(message.data)));
source.addEventListener("final", (message) => onFinal(JSON.parse(message.data)));
</script>
</body>
</html>
`;
  const csp = `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; connect-src 'self'; base-uri 'none'; form-action 'none'`;
  return { html, csp };
}
