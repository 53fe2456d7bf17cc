/** In-memory configuration structures the driver writes and the SMMU reads. */
import { hex } from "./hex.js";
import { born, bornIn, type Explored } from "./step.js";

/** One STE or CD: NUM_ENTRY_QWORDS u64 values (the kernel's __le64 data[8]). */
export type Qwords = bigint[];

/** STRTAB_STE_DWORDS == CTXDESC_CD_DWORDS: qwords in one STE or CD. */
export const NUM_ENTRY_QWORDS = 8;

/** A linear stream table: one STE per StreamID. */
export class StreamTable {
  private readonly stes = new Map<number, Qwords>();

  constructor() {
    born(this, "strtab");
  }

  /** The STE for `sid`; unused StreamIDs hold the abort STE arm_smmu_init_initial_stes() writes. */
  ste(sid: number): Qwords {
    let ste = this.stes.get(sid);
    if (!ste) {
      ste = bornIn([1n, 0n, 0n, 0n, 0n, 0n, 0n, 0n], this, hex(sid)); /* V=1, CFG=ABORT */
      this.stes.set(sid, ste);
    }
    return ste;
  }
}

/** A master's context-descriptor table, by SubstreamID; CDs not yet written are all zero (V=0). */
export class CdTable {
  private readonly cds = new Map<number, Qwords>();
  /** Second-level tables allocated so far, by ssid >> CTXDESC_SPLIT (2-level format only). */
  readonly l2 = new Set<number>();

  constructor(
    /** STE.S1CDMAX: log2 of the number of CDs. */
    readonly s1cdmax: number,
    /** Whether the table uses the 2-level (64K L2) format. */
    readonly twoLevel: boolean,
  ) {
    born(this, "cdtab");
  }

  cd(ssid: number): Qwords {
    let cd = this.cds.get(ssid);
    if (!cd) {
      cd = bornIn(new Array<bigint>(NUM_ENTRY_QWORDS).fill(0n), this, String(ssid));
      this.cds.set(ssid, cd);
    }
    return cd;
  }

  /** A CD as the hardware fetches it: undefined where no L2 table exists. */
  fetch(ssid: number): Qwords | undefined {
    if (this.twoLevel && !this.l2.has(ssid >> CTXDESC_SPLIT)) return undefined;
    /* a CD not yet written reads as zeros, at the location the CD will have */
    return this.cds.get(ssid) ?? bornIn(new Array<bigint>(NUM_ENTRY_QWORDS).fill(0n), this, String(ssid));
  }
}

/** log2 of the CDs per second-level table (CTXDESC_SPLIT) */
export const CTXDESC_SPLIT = 10;

/** Qword `i` of an STE or CD as a shared location for a schedule explorer: the driver writes it, the SMMU fetches it. */
export function qwordLocation(e: Explored, entry: Qwords, i: number): string {
  return `${e.nameOf(entry, "entry")}.q${i}`;
}
