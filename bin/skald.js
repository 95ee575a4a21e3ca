#!/usr/bin/env -S node --initial-old-space-size=128
import("../dist/cli/main.js").then((m) => m.main(process.argv.slice(2)));
