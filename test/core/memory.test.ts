/** src/core/memory.ts: tables at page-aligned physical addresses, reached only by address and class. */
import { expect, test } from "vitest";
import { BoundedMap } from "../../src/core/bounded-map.js";
import { Memory } from "../../src/core/memory.js";
import { PageTable } from "../../src/model/page-table.js";
import { CdTable, StreamTable } from "../../src/model/tables.js";

test("allocations from 0x80000000 up, each rounded up to whole 4 KiB pages", () => {
  const m = new Memory();
  expect([m.alloc(new StreamTable()), m.alloc(new StreamTable(), 4097), m.alloc(new StreamTable(), 1), m.alloc(new StreamTable(), 0x2000)]).toEqual([
    0x8000_0000n,
    0x8000_1000n,
    0x8000_3000n,
    0x8000_4000n,
  ]);
});

test("deref: the object at that address if it is of that class; nothing once freed", () => {
  const m = new Memory();
  const cds = new CdTable(4, false);
  const pa = m.alloc(cds);
  expect(m.deref(pa, CdTable)).toBe(cds);
  expect(m.deref(pa, PageTable)).toBeUndefined();
  expect(m.deref(pa + 0x1000n, CdTable)).toBeUndefined();
  m.free(pa);
  expect(m.deref(pa, CdTable)).toBeUndefined();
  /* a freed address is not handed out again */
  expect(m.alloc(cds)).toBe(pa + 0x1000n);
});

test("a freed object keeps its contents while in quarantine (the last `quarantine` freed); older ones read as nothing, still known freed", () => {
  const m = new Memory(2);
  const tables = [new StreamTable(), new StreamTable(), new StreamTable()];
  const pas = tables.map((t) => m.alloc(t));
  const live = m.alloc(new StreamTable());
  for (const pa of pas) m.free(pa);
  expect(pas.map((pa) => m.read(pa, StreamTable))).toEqual([undefined, tables[1], tables[2]]);
  expect([...pas, live, 0x1000n, 0x9000_0000n].map((pa) => m.isFreed(pa))).toEqual([true, true, true, false, false, false]);
  /* only where an allocation started, as before the quarantine: not an address inside it */
  const m2 = new Memory(2);
  const big = m2.alloc(new StreamTable(), 0x10000);
  m2.free(big);
  expect([big, big + 8n, big + 0xff8n, big + 0x1000n].map((pa) => m2.isFreed(pa))).toEqual([true, false, false, false]);
  /* freeing what is not allocated (twice, or never) changes nothing */
  m.free(pas[1]!);
  m.free(0x1000n);
  expect(m.read(pas[1]!, StreamTable)).toBe(tables[1]);
});

test("a bounded map keeps the last keys set, dropping the oldest", () => {
  const b = new BoundedMap<string, number>(2);
  b.set("a", 1);
  b.set("b", 2);
  b.set("c", 3);
  expect(["a", "b", "c"].map((k) => b.get(k))).toEqual([undefined, 2, 3]);
  b.set("d", 4);
  expect(["b", "c", "d"].map((k) => b.get(k))).toEqual([undefined, 3, 4]);
  expect(() => new BoundedMap(0)).toThrow("a bounded map holds at least one key, not 0");
});
