/** src/core/memory.ts: tables at page-aligned physical addresses, reached only by address and class. */
import { expect, test } from "vitest";
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
