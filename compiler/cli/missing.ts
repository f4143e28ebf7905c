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

/** Node's error for an import of an absent package names it: "Cannot find package 'x' ...". */
export function missingPackageOf(e: unknown): MissingPackage | undefined {
  if (!(e instanceof Error) || (e as { code?: string }).code !== "ERR_MODULE_NOT_FOUND") return;
  const m = /Cannot find package '((?:@[^/']+\/)?[^/']+)/.exec(e.message);
  return m ? new MissingPackage(m[1]!) : undefined;
}
