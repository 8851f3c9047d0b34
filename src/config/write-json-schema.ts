/**
 * Regenerates the committed JSON Schema after a change to schema.ts:
 * `npx tsc -p . && node dist/src/config/write-json-schema.js`.
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { renderJsonSchema, SCHEMA_FILE } from './json-schema.js';

// dist/src/config/ -> package root
const target = fileURLToPath(new URL(`../../../${SCHEMA_FILE}`, import.meta.url));
await writeFile(target, renderJsonSchema());
console.log(`wrote ${target}`);
