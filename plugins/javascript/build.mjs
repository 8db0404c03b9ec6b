// Builds the `javascript` plugin: plugins/javascript/app.js → a WASI 0.2 component, with the
// componentize-js JS API (StarlingMonkey). Usage: node build.mjs NODE_MODULES_DIR OUT.wasm
// Run by scripts/build-javascript.sh, which installs componentize-js into NODE_MODULES_DIR (under
// the target directory, so nothing is installed in the source tree or globally).
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const [modules, out] = process.argv.slice(2);
if (!modules || !out) {
  console.error('usage: node build.mjs NODE_MODULES_DIR OUT.wasm');
  process.exit(2);
}
const entry = join(modules, '@bytecodealliance', 'componentize-js', 'src', 'componentize.js');
const { componentize } = await import(pathToFileURL(entry).href);
const source = await readFile(join(here, 'app.js'), 'utf8');
const { component } = await componentize(source, {
  witPath: join(here, 'wit'),
  worldName: 'javascript',
  // No wasi:http: the plugin requests no network, and without the import `fetch` cannot reach
  // anything even if a policy were to grant it.
  disableFeatures: ['http', 'fetch-event'],
});
await writeFile(out, component);
