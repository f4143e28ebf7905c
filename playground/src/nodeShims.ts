/**
 * What the browser gets for the Node modules that the tfjs backend's chunk names (the grouped
 * convolution's strategy cache on disk, thread counts). There is no disk: a read fails as a
 * missing file does on Node, which the cost model takes for an empty cache, and a write goes
 * nowhere, so strategies are measured once per page (the cost model's in-memory memo keeps
 * them). The machine reports the browser's own figures.
 */
function missing(): never {
  throw Object.assign(new Error("no file system in the browser"), { code: "ENOENT" });
}

export const readFileSync = missing;
export const writeFileSync = (): void => {};
export const mkdirSync = (): void => {};
export const renameSync = (): void => {};
export const readdirSync = missing;
export const openSync = missing;
export const realpathSync = missing;
export const existsSync = (): boolean => false;
export const constants = {};

const cores = (): number => globalThis.navigator?.hardwareConcurrency ?? 1;
const memory = (): number =>
  ((globalThis.navigator as { deviceMemory?: number } | undefined)?.deviceMemory ?? 4) * 2 ** 30;
export const totalmem = memory;
export const freemem = memory;
export const availableParallelism = cores;
export const cpus = (): unknown[] => Array.from({ length: cores() }, () => ({}));

export const createRequire = (): never => missing();
export class Worker {
  constructor() {
    missing();
  }
}
// archc's kernel pool (compiler/backends/tfjs/kernels/pool.ts) only starts under Node's
// threaded wasm build; the page never starts it.
export const MessageChannel = globalThis.MessageChannel;
export const styleText = (_style: unknown, text: string): string => text;
export const fileURLToPath = (url: string | URL): string => new URL(url).pathname;
export const pathToFileURL = (path: string): URL => new URL(`file://${path}`);

export default { totalmem, freemem, availableParallelism, cpus };
