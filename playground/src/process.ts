/**
 * The `process` that modules written for Node read in the browser (esbuild injects it where
 * they name the global): no environment, `/` as the working folder.
 */
export const process = {
  env: {} as Record<string, string | undefined>,
  cwd: () => "/",
  pid: 0,
  platform: "browser",
  arch: "wasm",
  memoryUsage: () => ({ rss: 0, heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0 }),
};
