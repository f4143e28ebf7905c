/**
 * The heavy backends (tfjs, onnxruntime-node, ts-morph, prettier, vega, Graphviz, sharp) are
 * optional peer dependencies, loaded only by the commands that use them. When one is absent,
 * the command says which packages it needs and the exact command that installs them.
 */

/** Packages that only work together: asking for one installs the set. */
const installedTogether: readonly (readonly string[])[] = [
  ["@tensorflow/tfjs", "@tensorflow/tfjs-backend-wasm"],
  ["ts-morph", "prettier"],
  ["vega", "vega-lite"],
];

export class MissingPackage extends Error {
  readonly packages: readonly string[];
  constructor(readonly pkg: string) {
    const packages = installedTogether.find((g) => g.includes(pkg)) ?? [pkg];
    super(
      `this command needs the package '${pkg}', which is not installed: npm install ${packages.join(" ")}`,
    );
    this.packages = packages;
  }
}

/**
 * Node's error for an absent package names it: import() says "Cannot find package 'x' ..."
 * (ERR_MODULE_NOT_FOUND), require() "Cannot find module 'x'" (MODULE_NOT_FOUND; the CLI is a
 * CommonJS bundle, so the packages it bundles as external are required). A relative or absolute
 * path that is missing is archc's own fault, not a package to install.
 */
export function missingPackageOf(e: unknown): MissingPackage | undefined {
  if (!(e instanceof Error)) return;
  const code = (e as { code?: string }).code;
  const m =
    code === "ERR_MODULE_NOT_FOUND"
      ? /Cannot find package '((?:@[^/']+\/)?[^/']+)/.exec(e.message)
      : code === "MODULE_NOT_FOUND"
        ? /Cannot find module '((?:@[^/.'][^/']*\/)?[^/.'][^/']*)(?:\/[^']*)?'/.exec(e.message)
        : null;
  return m ? new MissingPackage(m[1]!) : undefined;
}
