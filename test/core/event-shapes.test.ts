/**
 * src/core/event-shapes.ts: the structural check of every payload, request
 * and reply a plugin sends, with the message that says what is wrong where.
 * A command must carry exactly the fields its opcode encodes.
 */
import { describe, expect, test } from "vitest";
import { checkNotification, checkReply, checkRequest } from "../../src/core/event-shapes.js";

const t = { base: 0x10000, size: 0x1000, pa: 0x4000_0000, writable: true, backing: [{ table: 0x8000_0000n, addr: 0x10000, pa: 0x4000_0000 }] };
const queued = { smmu: "smmu0", cmd: { op: "CMD_SYNC" }, seq: 0, source: "cpu0", start: 0, end: 100 };
const tlbi = { op: "TLBI_NH_VA", asid: 1, vmid: 0, num: 0, scale: 0, leaf: true, ttl: 0, tg: 0, addr: 0x10000n };

describe("notifications", () => {
  test("well formed: no problem", () => {
    expect(checkNotification("cmd:queued", queued)).toBeNull();
    expect(checkNotification("cmd:queued", { ...queued, cmd: tlbi })).toBeNull();
    expect(checkNotification("dma:served", { device: "nic0", sid: 0x40, pasid: null, iova: 0x10000, access: "read", via: "atc", cache: "nic0.atc", t })).toBeNull();
  });

  test("each problem named at its path", () => {
    const { seq: _seq, ...noSeq } = queued;
    expect(checkNotification("cmd:queued", noSeq)).toBe("seq is missing");
    expect(checkNotification("cmd:queued", { ...queued, extra: 1 })).toBe("extra is not a field here");
    expect(checkNotification("cmd:queued", { ...queued, start: -1 })).toBe("start must be a time in ns (a finite number >= 0), not number -1");
    expect(checkNotification("cmd:queued", { ...queued, end: Infinity })).toBe("end must be a time in ns (a finite number >= 0), not number Infinity");
    expect(checkNotification("cmd:queued", { ...queued, seq: 1.5 })).toBe("seq must be an integer, not number 1.5");
    expect(checkNotification("cmd:queued", "x")).toBe('the value must be an object, not "x"');
    expect(checkNotification("dma:served", { device: "nic0", sid: 0x40, pasid: null, iova: 0, access: "exec", via: "atc", cache: "", t })).toBe("access must be one of read, write, not \"exec\"");
    expect(checkNotification("cache:fill", { cache: "c", tag: "t", t: { ...t, backing: [{ table: 1, addr: 0, pa: 0 }] } })).toBe("t.backing[0].table must be a 64-bit unsigned bigint, not number 1");
  });

  test("a command: a known opcode, and exactly the fields it encodes", () => {
    const cmd = (c: unknown) => checkNotification("cmd:queued", { ...queued, cmd: c });
    expect(cmd({ op: "TLBI_FOO" })).toBe('cmd.op must be a command the queue takes, not "TLBI_FOO"');
    expect(cmd({ op: "CMD_SYNC", sid: 1 })).toBe("cmd.sid is not a field here");
    const { ttl: _ttl, ...noTtl } = tlbi;
    expect(cmd(noTtl)).toBe("cmd.ttl is missing");
    expect(cmd({ ...tlbi, addr: 1n << 64n })).toBe("cmd.addr must be a 64-bit unsigned bigint, not 18446744073709551616n");
    expect(cmd({ ...tlbi, addr: 0x10000 })).toBe("cmd.addr must be a 64-bit unsigned bigint, not number 65536");
    expect(cmd({ ...tlbi, leaf: 1 })).toBe("cmd.leaf must be a boolean, not number 1");
    expect(cmd({ op: "ATC_INV", sid: 0x40, ssid: 0, ssv: false, global: false, size: 52, addr: 0n })).toBeNull();
  });
});

describe("requests and replies", () => {
  test("smmu:cmdq: a list of commands, each checked", () => {
    expect(checkRequest("smmu:cmdq", { cmds: [tlbi, { op: "CMD_SYNC" }], sync: true, source: "cpu0", at: 0 })).toBeNull();
    expect(checkRequest("smmu:cmdq", { cmds: [tlbi, { op: "CFGI_STE", sid: 1 }], sync: true, source: "cpu0", at: 0 })).toBe("cmds[1].leaf is missing");
    expect(checkRequest("smmu:cmdq", { cmds: {}, sync: true, source: "cpu0", at: 0 })).toBe("cmds must be an array, not an object");
  });

  test("optional fields may be absent or undefined", () => {
    expect(checkReply("smmu:cmdq", { synced: true })).toBeNull();
    expect(checkReply("smmu:cmdq", { synced: true, done: undefined })).toBeNull();
    expect(checkReply("ep:atc-inv", { completed: "yes" })).toBe('completed must be a boolean, not "yes"');
    expect(checkRequest("ep:dma", { iova: 0, pasid: 3, access: "read", sid: 0x40 })).toBeNull();
    expect(checkRequest("ep:dma", { iova: 0, pasid: "3", access: "read" })).toBe('pasid must be an integer, not "3"');
  });

  test("a translation result by its kind", () => {
    expect(checkReply("smmu:translate", { kind: "ok", t, via: "walk" })).toBeNull();
    expect(checkReply("smmu:translate", { kind: "fault", event: "F_TRANSLATION", detail: "d" })).toBeNull();
    expect(checkReply("smmu:translate", { kind: "abort", detail: "d" })).toBeNull();
    expect(checkReply("smmu:translate", { kind: "abort", event: "x", detail: "d" })).toBe("event is not a field here");
    expect(checkReply("smmu:translate", { kind: "maybe" })).toBe('the reply.kind must be ok, fault or abort, not "maybe"');
    expect(checkReply("ep:dma", { result: { kind: "ok", t, via: "cache" } })).toBe('result.via must be one of atc, iotlb, walk, bypass, not "cache"');
    expect(checkReply("smmu:tlb-tags", { tags: ["smmu0 asid 1", 2] })).toBe("tags[1] must be a string, not number 2");
  });
});
