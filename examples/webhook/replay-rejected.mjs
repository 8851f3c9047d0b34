// Sends again the requests a webhook endpoint rejected (the sink's rejected.jsonl), each with its
// webhook-id and exact body, signed afresh: receivers refuse a webhook-timestamp older than 5 minutes.
//
//   WEBHOOK_SECRET=whsec_... node replay-rejected.mjs .earshot/them/webhook_1/spool/rejected.jsonl https://example.com/hook
//
// Prints one line per request: its webhook-id and the HTTP status. Exits 1 if any was not accepted.
// Without WEBHOOK_SECRET the requests go unsigned.
/* global fetch */
import { Buffer } from 'node:buffer';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';

const [file, url] = process.argv.slice(2);
if (!file || !url) {
  console.error('usage: node replay-rejected.mjs REJECTED_JSONL URL');
  process.exit(2);
}
const secret = process.env.WEBHOOK_SECRET;
const key = secret === undefined ? undefined : secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret);
let failed = 0;
for (const line of readFileSync(file, 'utf8').split('\n').filter((l) => l !== '')) {
  const { webhook_id: id, payload } = JSON.parse(line);
  const timestamp = Math.floor(Date.now() / 1000);
  const headers = { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp) };
  if (key) headers['webhook-signature'] = `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${payload}`).digest('base64')}`;
  const response = await fetch(url, { method: 'POST', headers, body: payload });
  console.log(id, response.status);
  if (!response.ok) failed += 1;
}
process.exit(failed > 0 ? 1 : 0);
