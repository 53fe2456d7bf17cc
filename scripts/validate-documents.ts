/**
 * Check a run's documents against their schemas, whatever their size: a
 * trace (`run --trace`) read as a stream, each event checked on its own
 * against schemas/trace-event.schema.json and the rest of the document with
 * no events; a report (`run --json`) parsed whole and checked against
 * schemas/report.schema.json.
 *
 *   tsx scripts/validate-documents.ts [--trace FILE] [--report FILE]
 */
import { closeSync, openSync, readFileSync, readSync } from "node:fs";
import { parseArgs } from "node:util";
import { StringDecoder } from "node:string_decoder";
import { Ajv2020 } from "ajv/dist/2020.js";
import reportSchema from "../schemas/report.schema.json" with { type: "json" };
import traceSchema from "../schemas/trace-event.schema.json" with { type: "json" };

const HEAD = '{"traceEvents":[';

/** The trace's events, one JSON text each, then what follows the array (its closing bracket cut). */
function* traceParts(path: string): Generator<{ event: string } | { rest: string }> {
  const fd = openSync(path, "r");
  const decoder = new StringDecoder("utf8");
  const block = Buffer.alloc(1 << 20);
  let text = "";
  let at = 0;
  let pos = 0;
  let started = false;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let start = -1;
  try {
    for (;;) {
      const n = readSync(fd, block, 0, block.length, at);
      at += n;
      text = text.slice(start >= 0 ? start : pos) + (n ? decoder.write(block.subarray(0, n)) : decoder.end());
      pos -= start >= 0 ? start : pos;
      if (start >= 0) start = 0;
      if (!started) {
        if (text.length < HEAD.length && n) continue;
        if (!text.startsWith(HEAD)) throw new Error(`${path} does not start with ${HEAD}`);
        pos = HEAD.length;
        started = true;
      }
      for (; pos < text.length; pos++) {
        const c = text[pos]!;
        if (inString) {
          if (escaped) escaped = false;
          else if (c === "\\") escaped = true;
          else if (c === '"') inString = false;
          continue;
        }
        if (c === '"') inString = true;
        else if (c === "{" || c === "[") {
          if (depth++ === 0) start = pos;
        } else if (c === "}" || c === "]") {
          if (depth === 0) {
            /* the array's end: the rest of the document follows */
            yield { rest: text.slice(pos + 1) + readRest(fd, at, decoder) };
            return;
          }
          if (--depth === 0) {
            yield { event: text.slice(start, pos + 1) };
            start = -1;
          }
        }
      }
      if (n === 0) throw new Error(`${path} ends inside traceEvents`);
    }
  } finally {
    closeSync(fd);
  }
}

function readRest(fd: number, at: number, decoder: StringDecoder): string {
  let rest = "";
  const block = Buffer.alloc(1 << 16);
  for (let n; (n = readSync(fd, block, 0, block.length, at)) > 0; at += n) rest += decoder.write(block.subarray(0, n));
  return rest + decoder.end();
}

export function validateTrace(path: string): { events: number } {
  const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true });
  const whole = ajv.compile(traceSchema);
  const event = ajv.getSchema(`${traceSchema.$id}#/$defs/event`)!;
  let events = 0;
  for (const part of traceParts(path)) {
    if ("event" in part) {
      if (!event(JSON.parse(part.event))) throw new Error(`event ${events}: ${JSON.stringify(event.errors)}: ${part.event}`);
      events++;
      continue;
    }
    const doc = JSON.parse(`{"traceEvents":[]${part.rest}`) as unknown;
    if (!whole(doc)) throw new Error(`the document: ${JSON.stringify(whole.errors)}`);
  }
  return { events };
}

export function validateReport(path: string): { scenarios: number } {
  const validate = new Ajv2020({ strict: true, allErrors: true }).compile(reportSchema);
  const doc = JSON.parse(readFileSync(path, "utf8")) as { summary: { scenarios: number } };
  if (!validate(doc)) throw new Error(`${path}: ${JSON.stringify(validate.errors)}`);
  return { scenarios: doc.summary.scenarios };
}

const { values } = parseArgs({ options: { trace: { type: "string" }, report: { type: "string" } } });
if (values.trace) console.log(`${values.trace}: valid, ${validateTrace(values.trace).events} events`);
if (values.report) console.log(`${values.report}: valid, ${validateReport(values.report).scenarios} scenarios`);
