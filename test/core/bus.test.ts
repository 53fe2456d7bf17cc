/**
 * src/core/bus.ts: notifications reach every listener in subscription order,
 * at once; a request reaches the one handler its target's plugin serves; a
 * handler that throws is reported with its plugin and event, once, however
 * deep the request that failed.
 */
import { describe, expect, test } from "vitest";
import { Bus, HandlerError, MalformedEventError, NoHandlerError } from "../../src/core/bus.js";

const warn = { fn: "arm_smmu_invs_unref", cond: "refcount < 0" };
const atcReq = { sid: 0x40, ssid: 0, ssv: false, addr: 0, size: 52, at: 0 };

describe("notifications", () => {
  test("every listener, in the order they subscribed, before emit returns", () => {
    const bus = new Bus();
    const heard: string[] = [];
    bus.on("driver:warn", "a", (e) => heard.push(`a ${e.fn}`));
    bus.on("driver:warn", "b", (e) => heard.push(`b ${e.cond}`));
    bus.emit("driver:warn", warn);
    heard.push("returned");
    expect(heard).toEqual(["a arm_smmu_invs_unref", "b refcount < 0", "returned"]);
  });

  test("a listener that throws: a HandlerError naming its plugin and the event, with what it threw", () => {
    const bus = new Bus();
    const boom = new Error("boom");
    bus.on("driver:warn", "noisy", () => {
      throw boom;
    });
    let caught: unknown;
    try {
      bus.emit("driver:warn", warn);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(HandlerError);
    expect(caught).toMatchObject({ name: "HandlerError", plugin: "noisy", event: "driver:warn", cause: boom, message: 'plugin "noisy" failed handling "driver:warn": boom' });
  });

  test("what was thrown need not be an Error", () => {
    const bus = new Bus();
    bus.on("driver:warn", "p", () => {
      throw "a string";
    });
    expect(() => bus.emit("driver:warn", warn)).toThrow('plugin "p" failed handling "driver:warn": a string');
  });
});

describe("requests", () => {
  test("answered by the handler served for that event and target only", () => {
    const bus = new Bus();
    bus.serve("ep:atc-inv", "nic0", "pcie-ats", (r) => ({ completed: true, done: r.at + 1 }));
    bus.serve("ep:atc-inv", "gpu0", "pcie-ats", () => ({ completed: false }));
    expect(bus.request("ep:atc-inv", "nic0", { ...atcReq, at: 5 })).toEqual({ completed: true, done: 6 });
    expect(bus.request("ep:atc-inv", "gpu0", atcReq)).toEqual({ completed: false });
    expect([bus.serves("ep:atc-inv", "nic0"), bus.serves("ep:dma", "nic0"), bus.serves("ep:atc-inv", "dma0")]).toEqual([true, false, false]);
  });

  test("nothing serving the target: NoHandlerError", () => {
    const bus = new Bus();
    expect(() => bus.request("smmu:tlb-tags", "smmu9", {})).toThrow(new NoHandlerError("smmu:tlb-tags", "smmu9"));
    expect(new NoHandlerError("smmu:tlb-tags", "smmu9").message).toBe('nothing on the platform answers "smmu:tlb-tags" for smmu9');
  });

  test("one handler per event and target", () => {
    const bus = new Bus();
    bus.serve("smmu:tlb-tags", "smmu0", "smmu-v3", () => ({ tags: [] }));
    expect(() => bus.serve("smmu:tlb-tags", "smmu0", "other", () => ({ tags: [] }))).toThrow('"smmu:tlb-tags" for smmu0 is already served');
  });

  test("a failure deep in a chain of requests is reported once, for the plugin whose handler failed", () => {
    const bus = new Bus();
    bus.serve("ep:atc-inv", "nic0", "pcie-ats", () => {
      throw new RangeError("no such entry");
    });
    bus.serve("smmu:tlb-tags", "smmu0", "smmu-v3", () => {
      bus.request("ep:atc-inv", "nic0", atcReq);
      return { tags: [] };
    });
    expect(() => bus.request("smmu:tlb-tags", "smmu0", {})).toThrow('plugin "pcie-ats" failed handling "ep:atc-inv": no such entry');
  });

  test("a MalformedEventError passes through as it is", () => {
    const bus = new Bus();
    const bad = new MalformedEventError("lossy", "ep:atc-inv", "reply: completed must be a boolean");
    bus.serve("ep:atc-inv", "nic0", "pcie-ats", () => {
      throw bad;
    });
    expect(() => bus.request("ep:atc-inv", "nic0", atcReq)).toThrow(bad);
    expect(bad.message).toBe('plugin "lossy" sent a malformed "ep:atc-inv": reply: completed must be a boolean');
  });
});

describe("intercept", () => {
  test("wraps the served handler: the wrapper gets the request and the handler it wraps", () => {
    const bus = new Bus();
    const seen: string[] = [];
    bus.serve("ep:atc-inv", "nic0", "pcie-ats", (r) => {
      seen.push(`pcie-ats sid 0x${r.sid.toString(16)}`);
      return { completed: true, done: r.at + 1000 };
    });
    bus.intercept("ep:atc-inv", "nic0", "lossy-atc", (r, next) => {
      seen.push("lossy-atc");
      return r.sid === 0x41 ? { completed: true, done: r.at } : next(r);
    });
    expect(bus.request("ep:atc-inv", "nic0", atcReq)).toEqual({ completed: true, done: 1000 });
    expect(bus.request("ep:atc-inv", "nic0", { ...atcReq, sid: 0x41 })).toEqual({ completed: true, done: 0 });
    expect(seen).toEqual(["lossy-atc", "pcie-ats sid 0x40", "lossy-atc"]);
  });

  test("a wrapper's failure is its plugin's; the wrapped handler's stays the wrapped plugin's", () => {
    const bus = new Bus();
    bus.serve("ep:atc-inv", "nic0", "pcie-ats", (r) => {
      if (r.sid === 0x41) throw new Error("inner");
      return { completed: true };
    });
    bus.intercept("ep:atc-inv", "nic0", "quirk", (r, next) => {
      if (r.sid === 0x42) throw new Error("outer");
      return next(r);
    });
    expect(() => bus.request("ep:atc-inv", "nic0", { ...atcReq, sid: 0x41 })).toThrow('plugin "pcie-ats" failed handling "ep:atc-inv": inner');
    expect(() => bus.request("ep:atc-inv", "nic0", { ...atcReq, sid: 0x42 })).toThrow('plugin "quirk" failed handling "ep:atc-inv": outer');
  });

  test("nothing to wrap: NoHandlerError", () => {
    expect(() => new Bus().intercept("ep:dma", "nic0", "quirk", (r, next) => next(r))).toThrow('nothing on the platform answers "ep:dma" for nic0');
  });
});
