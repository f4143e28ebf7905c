#!/usr/bin/env node
// The installed command runs the compiled JavaScript; `npm ci` builds it (the prepare script).
import { main } from "../dist/compiler/cli/main.js";

process.exitCode = await main(process.argv.slice(2));
