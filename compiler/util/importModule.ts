/**
 * import() of a module from outside archc's own code (an optional backend such as vega or
 * onnxruntime-node, a Node built-in, a script by its URL). On Node 20 the CLI runs its bundle
 * through vm.Script with V8's code cache (compiler/cli/codeCache.ts), and code that V8 takes
 * from that cache has lost the callback import() needs: the second run of a command failed with
 * "A dynamic import callback was not specified". bin/archc.cjs, a module Node loaded itself,
 * lends its own import() as `__archcImport`; everywhere else this is the plain import().
 */
export function importModule<T>(specifier: string, load?: () => Promise<T>): Promise<T> {
  const lent = (globalThis as { __archcImport?: (s: string) => Promise<unknown> }).__archcImport;
  if (lent) return lent(specifier) as Promise<T>;
  // `load` keeps the import written out where a bundler must see it (the playground bundles
  // @viz-js/viz; an import of a variable would be left to the browser, which cannot find it).
  return load ? load() : (import(specifier) as Promise<T>);
}
