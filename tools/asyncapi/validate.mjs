// Validate an AsyncAPI document with the official parser; print its diagnostics as JSON
// ({errors, warnings}) and exit 1 when there is an error. Usage: node validate.mjs FILE
import { readFile } from "node:fs/promises";
import { Parser } from "@asyncapi/parser";

const text = await readFile(process.argv[2], "utf8");
const { document, diagnostics } = await new Parser().parse(text);
const shown = (d) => ({ code: d.code, message: d.message, path: d.path.join("/") });
const errors = diagnostics.filter((d) => d.severity === 0).map(shown);
const warnings = diagnostics.filter((d) => d.severity === 1).map(shown);
const messages = document ? document.allMessages().all().map((m) => m.name() ?? m.id()) : [];
console.log(JSON.stringify({ errors, warnings, messages }));
process.exit(errors.length || !document ? 1 : 0);
