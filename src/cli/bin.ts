#!/usr/bin/env node
import { main } from "./main.ts";

// The `rtsync` executable. exitCode rather than exit(), so buffered output is flushed first.
process.exitCode = await main(process.argv.slice(2));
