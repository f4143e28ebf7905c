#!/usr/bin/env node
// The installed command runs the bundled CLI; `npm ci` builds it (the prepare script).
import { main } from "../dist/cli/archc.js";

process.exitCode = await main(process.argv.slice(2));
