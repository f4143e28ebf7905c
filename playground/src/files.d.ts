/** The specs and the standard library, bundled by scripts/build-playground.mjs. */
declare module "archc:files" {
  const files: Readonly<Record<string, string>>;
  export default files;
}
