#!/usr/bin/env node
// The installed command runs the bundled CLI; `npm ci` builds it (the prepare script).
import { main } from "../dist/cli/archc.js";

const code = await main(process.argv.slice(2));
// Exit explicitly once the output is flushed: the wasm backend's worker threads and other
// handles of the optional backends would otherwise keep a finished command alive.
process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
