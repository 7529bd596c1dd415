/**
 * Writes docs/SCHEMA.md from the code (lib/db/doc.ts): `npm run schema-doc`. Run it after changing a table; the
 * schema test fails while the file is out of date.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { schemaMarkdown } from '../lib/db/doc.js';
import { writeFileAtomic } from '../lib/util/fsutil.js';
import { projectRoot } from '../lib/util/project.js';

const dir = join(projectRoot(), 'docs');
mkdirSync(dir, { recursive: true });
writeFileAtomic(join(dir, 'SCHEMA.md'), await schemaMarkdown());
console.log(`wrote ${join(dir, 'SCHEMA.md')}`);
