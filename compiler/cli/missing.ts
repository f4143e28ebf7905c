/**
 * The heavy backends (tfjs, onnxruntime-node, ts-morph, prettier, vega, Graphviz, sharp) are
 * optional peer dependencies, loaded only by the commands that use them. When one is absent,
 * the command says which package it needs and the exact command that installs it.
 */
export class MissingPackage extends Error {
  constructor(readonly pkg: string) {
    super(`this command needs the package '${pkg}', which is not installed: npm install ${pkg}`);
  }
}

/** Node's error for an import of an absent package names it: "Cannot find package 'x' ...". */
export function missingPackageOf(e: unknown): MissingPackage | undefined {
  if (!(e instanceof Error) || (e as { code?: string }).code !== "ERR_MODULE_NOT_FOUND") return;
  const m = /Cannot find package '((?:@[^/']+\/)?[^/']+)/.exec(e.message);
  return m ? new MissingPackage(m[1]!) : undefined;
}
