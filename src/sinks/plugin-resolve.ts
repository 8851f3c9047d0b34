/**
 * Finds a plugin's module from what `module:` says: a path (relative to the
 * pipeline file's directory) or a package name (looked up from the pipeline
 * file's directory, then from earshot's own install, with Node's ESM rules:
 * `exports`, the `import` condition). When nothing is found the answer says
 * where it looked, so the user can see which folder is missing the file.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { moduleResolve } from 'import-meta-resolve';

export type ModuleResolution =
  | { found: true; url: string; path: string }
  | { found: false; reason: string };

const EXTENSIONS = ['.js', '.mjs', '.cjs'];

export function resolvePluginModule(specifier: string, baseDir: string): ModuleResolution {
  if (isPath(specifier)) return resolvePath(specifier, baseDir);
  return resolvePackage(specifier, baseDir);
}

function isPath(specifier: string): boolean {
  return specifier.startsWith('file:') || specifier.startsWith('./') || specifier.startsWith('../') ||
    specifier === '.' || specifier === '..' || isAbsolute(specifier) || /^\.\.?\\/.test(specifier);
}

function resolvePath(specifier: string, baseDir: string): ModuleResolution {
  const path = specifier.startsWith('file:') ? fileURLToPath(specifier) : resolve(baseDir, specifier);
  const stats = statSync(path, { throwIfNoEntry: false });
  if (stats?.isFile()) return { found: true, url: pathToFileURL(path).href, path };
  if (stats?.isDirectory()) {
    const index = EXTENSIONS.map((ext) => join(path, `index${ext}`)).find((candidate) => existsSync(candidate));
    return {
      found: false,
      reason: `is a directory (${path}); name the module file${index ? ` (did you mean ${specifier.replace(/[\\/]+$/, '')}/${basename(index)}?)` : ''}`,
    };
  }
  const withExtension = EXTENSIONS.map((ext) => path + ext).find((candidate) => existsSync(candidate));
  const hint = withExtension ? ` (did you mean ${specifier}${withExtension.slice(path.length)}? ES modules need the extension)` : '';
  return { found: false, reason: `not found: no file at ${path}${hint}` };
}

function resolvePackage(specifier: string, baseDir: string): ModuleResolution {
  const ownDir = packageRoot(dirname(fileURLToPath(import.meta.url)));
  for (const fromDir of [baseDir, ownDir]) {
    try {
      const url = moduleResolve(specifier, pathToFileURL(fromDir + sep));
      return { found: true, url: url.href, path: url.protocol === 'file:' ? fileURLToPath(url) : url.href };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const message = (error as Error).message;
      // The package is not in this tree: try the next one. Anything else is a package that is there but broken.
      if (code === 'ERR_MODULE_NOT_FOUND' && message.startsWith('Cannot find package')) continue;
      return { found: false, reason: `cannot be resolved: ${message}` };
    }
  }
  const fromPipeline = nodeModulesChain(baseDir);
  const fromEarshot = nodeModulesChain(ownDir).filter((dir) => !fromPipeline.includes(dir));
  const sibling = EXTENSIONS.map((ext) => join(baseDir, specifier + ext)).concat(join(baseDir, specifier)).find((file) => statSync(file, { throwIfNoEntry: false })?.isFile());
  const hint = sibling ? ` (a file ${sibling} exists: a path must start with ./ to be read as a path)` : '';
  return {
    found: false,
    reason:
      `not found: no package "${specifier}" in ${fromPipeline.join(', ')}` +
      (fromEarshot.length > 0 ? `, nor in earshot's own ${fromEarshot.join(', ')}` : '') +
      `. Install it where the pipeline file is (npm install ${specifier}), or give a path starting with ./${hint}`,
  };
}

/** The nearest folder at or above dir with a package.json: earshot's install. */
function packageRoot(dir: string): string {
  for (let current = dir; ; current = dirname(current)) {
    if (existsSync(join(current, 'package.json'))) return current;
    if (dirname(current) === current) return dir;
  }
}

/** The node_modules folders Node would search from dir upward. */
function nodeModulesChain(dir: string): string[] {
  const chain: string[] = [];
  for (let current = resolve(dir); ; current = dirname(current)) {
    if (!current.endsWith(`${sep}node_modules`)) chain.push(join(current, 'node_modules'));
    if (dirname(current) === current) return chain;
  }
}
