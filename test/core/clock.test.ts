/**
 * src/core/clock.ts: simulated time. A CPU's time moves only when it waits;
 * an operation starts at platform time, and platform time moves to where the
 * latest operation ended.
 */
import { expect, test } from "vitest";
import { Clock } from "../../src/core/clock.js";

test("starts at 0 on cpu0; a CPU with no operation is at platform time", () => {
  const c = new Clock();
  expect([c.now, c.cpuNow, c.cpu]).toEqual([0, 0, "cpu0"]);
});

test("waiting moves the running CPU forward, never back; platform time moves when the operation ends", () => {
  const c = new Clock();
  c.begin("cpu0");
  c.waitUntil(500);
  c.waitUntil(200);
  expect([c.cpuNow, c.now]).toEqual([500, 0]);
  c.end("cpu0");
  expect([c.now, c.cpuNow]).toEqual([500, 500]);
});

test("concurrent operations start together; platform time moves to the latest end", () => {
  const c = new Clock();
  c.begin("cpu0");
  c.waitUntil(100);
  c.end("cpu0");
  c.begin("cpu0");
  c.begin("cpu1");
  expect(c.cpu).toBe("cpu1");
  c.waitUntil(400);
  c.cpu = "cpu0";
  expect(c.cpuNow).toBe(100);
  c.waitUntil(250);
  c.end("cpu1");
  expect([c.now, c.cpu]).toEqual([400, "cpu0"]);
  c.end("cpu0");
  expect(c.now).toBe(400);
});

test("waiting for ever is a modelling error", () => {
  const c = new Clock();
  expect(() => c.waitUntil(Infinity)).toThrow(new RangeError("cannot wait until Infinity ns"));
  expect(() => c.waitUntil(NaN)).toThrow("cannot wait until NaN ns");
});
