import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { packageRoot } from "../../language/paths.js";
import { integerFlag } from "../../util/integerFlag.js";
import { Exit, type IO } from "../io.js";
import { serveStatic } from "../serve.js";
import { importModule } from "../../util/importModule.js";

export interface PlaygroundOptions {
  readonly port: string;
  /** Resolves when the server should stop; the binary passes Ctrl-C, tests a promise of theirs. */
  readonly until?: Promise<void>;
}

export const playgroundDir = join(packageRoot, "playground", "build");

/**
 * Builds the playground when its sources are here and the build is missing or older than them
 * (a checkout); an installed package ships the build. Returns why there is none, if none.
 */
export async function ensurePlayground(): Promise<string | undefined> {
  const script = join(packageRoot, "scripts", "build-playground.mjs");
  if (existsSync(script)) {
    const m = await importModule<{
      playgroundStale(): boolean;
      buildPlayground(): Promise<string>;
    }>(pathToFileURL(script).href);
    if (m.playgroundStale()) await m.buildPlayground();
  }
  return existsSync(join(playgroundDir, "index.html"))
    ? undefined
    : `the playground is not built (${playgroundDir} is missing): run npm run build:playground`;
}

/** `archc playground`: serves the playground on this machine (127.0.0.1) and prints its URL. */
export async function playgroundCommand(io: IO, opts: PlaygroundOptions): Promise<number> {
  const port = integerFlag("port", opts.port, 0);
  if (typeof port !== "number" || port > 65535) {
    io.err(
      `archc playground: ${typeof port === "number" ? `--port must be at most 65535, not ${port}` : port.error}`,
    );
    return Exit.usage;
  }
  const missing = await ensurePlayground();
  if (missing) {
    io.err(`archc playground: ${missing}`);
    return Exit.diagnostics;
  }
  let served;
  try {
    served = await serveStatic(playgroundDir, port);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "EADDRINUSE" && code !== "EACCES") throw e;
    io.err(
      `archc playground: port ${port} ${code === "EADDRINUSE" ? "is in use" : "needs privileges"}; pass --port 0 for any free port`,
    );
    return Exit.diagnostics;
  }
  io.out(`archc playground: ${served.url} (Ctrl-C stops it)`);
  await (opts.until ??
    new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    }));
  await new Promise((resolve) => served.server.close(resolve));
  return Exit.ok;
}
