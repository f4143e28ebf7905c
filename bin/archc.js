#!/usr/bin/env node
// The command is bin/archc.cjs (package.json's bin); this path runs it too.
import "./archc.cjs";
