/** Where the workbench itself is installed: the folder holding its package.json. */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FluxError } from './check.js';

/** The project folder (the one holding package.json), found from this module's location in `lib/` or `dist/lib/`. */
export function projectRoot(): string {
  let dir = resolve(fileURLToPath(import.meta.url), '..');
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = resolve(dir, '..');
  }
  throw new FluxError('cannot find the project folder (package.json) above the workbench library');
}
