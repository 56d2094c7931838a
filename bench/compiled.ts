// The project's TypeScript as plain JavaScript in a temporary folder, for a bench child that should run as the
// product does (`node dist/cli.js`), not under tsx. tsx's loader runs on its own thread with its own V8 heap and
// keeps what it transformed: measured here, an empty script costs 42 MB RSS under plain node and 76 MB under
// `--import tsx`, and with Baileys imported 88 MB against 155 MB. A memory bench run under tsx charges that to
// whichever engine it measures. Transpiled file by file (TypeScript's transpileModule, no type check: `tsc` does
// that), same layout, so relative imports and `import.meta.url` paths resolve as in the tree.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(import.meta.dirname, '..');

function filesUnder(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name);
    return e.isDirectory() ? filesUnder(rel) : [rel];
  });
}

const isTs = (rel: string) => rel.endsWith('.ts') && !rel.endsWith('.d.ts');

/** Compile src/, test/fakes/ and the named bench files; returns the folder (remove it when done). */
export function compileForBench(benchFiles: readonly string[]): string {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-bench-build-'));
  const files = [...filesUnder('src'), ...filesUnder(path.join('test', 'fakes')), ...benchFiles];
  for (const rel of files) {
    const target = path.join(out, isTs(rel) ? rel.replace(/\.ts$/, '.js') : rel);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    // What is not TypeScript (the dashboard's static files) is read at run time from beside the code.
    if (!isTs(rel)) {
      fs.copyFileSync(path.join(ROOT, rel), target);
      continue;
    }
    const { outputText } = ts.transpileModule(fs.readFileSync(path.join(ROOT, rel), 'utf8'), {
      fileName: rel,
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    });
    fs.writeFileSync(target, outputText);
  }
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(out, 'package.json'));
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(out, 'node_modules'), 'dir');
  return out;
}
