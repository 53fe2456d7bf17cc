/**
 * A grammar-aware generator of .smmu files for fuzzing (issue 13): each case
 * is a topology and scenarios built from the language's productions, with
 * values drawn toward the edges the issue's findings lived on (names that
 * are Object.prototype's, 64-bit edges and wider, shifts and products that
 * overflow, deep brackets, pinned ASIDs and VMIDs, large map/unmap ranges,
 * a typo repeated by a loop, a byte order mark), then now and again mutated
 * at the token level (a token dropped, doubled or swapped). The same seed
 * gives the same cases: a finding is reproduced from its seed and index.
 */
import { Rng as CoreRng } from "../src/core/rng.js";

/** The engine's seeded PRNG (mulberry32), with the draws a generator makes. */
export class Rng extends CoreRng {
  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.below(xs.length)]!;
  }
}

const HOSTILE_NAMES = ["toString", "constructor", "__proto__", "valueOf", "hasOwnProperty", "prototype"];
const SIZES = ["4K", "8K", "16K", "64K", "2M", "0x1000", "0x3000"];
const EDGE_SIZES = ["1G", "1024G", "0", "3", "0xffffffffffffffff", "0x10000000000000000"];
const ADDRS = ["0", "0x10000", "0x11000", "0x200000", "0x7ffffffff000"];
const EDGE_ADDRS = ["0xfffffffffffff000", "0xffffffffffffffff", "0x10000000000000000", "(1 << 63)", "((1 << 64) - 1)"];
const OPCODES = ["CMD_SYNC", "TLBI_NH_VA", "TLBI_NH_ASID", "TLBI_S12_VMALL", "CFGI_STE", "CFGI_CD", "ATC_INV", "TLBI_NSNH_ALL"];
const ENTRY_TYPES = ["S1_ASID", "S2_VMID", "S2_VMID_VSMMU", "S2_VMID_S1_CLEAR", "ATS", "ATS_FULL"];
const ERRORS = ["-ENOMEM", "-EINVAL", "-ENOSPC", "livelock", "oops", "use_after_free"];

/** One file's names, so most statements refer to something declared. */
interface Names {
  smmus: string[];
  devices: string[];
  domains: string[];
  procs: string[];
}

export class Generator {
  constructor(private readonly r: Rng) {}

  private name(prefix: string, i: number): string {
    return this.r.chance(0.04) ? this.r.pick(HOSTILE_NAMES) : `${prefix}${i}`;
  }

  /** A number, now and then at or past an edge. */
  private number(): string {
    const r = this.r;
    switch (r.below(8)) {
      case 0:
        return r.chance(0.1) ? r.pick(["0xffffffffffffffff", "0x10000000000000000", "18446744073709551616", "9".repeat(1 + r.below(40))]) : r.pick(["0", "1"]);
      case 1:
        return `${r.below(4096)}${r.pick(["", "K", "M"])}`;
      default:
        return String(r.below(16));
    }
  }

  /** An expression `depth` levels of brackets deep at most. */
  expr(depth = 3): string {
    const r = this.r;
    if (depth <= 0 || r.chance(0.4)) return r.chance(0.02) ? r.pick(["N", "i", "nosuch"]) : this.number();
    switch (r.below(4)) {
      case 0:
        return `(${this.expr(depth - 1)})`;
      case 1:
        /* a chain of shifts or products: an overflow somewhere along it, or none */
        return Array.from({ length: 2 + (r.chance(0.1) ? r.below(12) : r.below(2)) }, () => this.expr(0)).join(r.pick([" << ", " * ", " + "]));
      default:
        return `${this.expr(depth - 1)} ${r.pick(["+", "-", "*", "/", "%", "<<", ">>"])} ${this.expr(depth - 1)}`;
    }
  }

  private topology(n: Names): string[] {
    const r = this.r;
    const lines: string[] = [];
    if (r.chance(0.3)) lines.push(`param N = ${this.expr(2)};`);
    if (r.chance(0.2)) lines.push(`param P = ${this.expr(4)};`);
    const smmus = 1 + r.below(3);
    for (let i = 0; i < smmus; i++) {
      const name = this.name("smmu", i);
      n.smmus.push(name);
      const features = ["range_inv", "ats", "sva", "nesting", "e2h", "cd2l", ...(r.chance(0.05) ? ["bogus"] : [])].filter(() => r.chance(0.3));
      lines.push(`smmu ${name} { ${features.length ? `features: ${features.join(", ")}; ` : ""}${r.chance(0.1) ? `cmd_ns: ${this.number()}; ` : ""}}`);
    }
    const devices = 1 + r.below(4);
    for (let i = 0; i < devices; i++) {
      const name = this.name("dev", i);
      n.devices.push(name);
      lines.push(`device ${name} { smmu: ${r.pick(n.smmus)}; sids: ${r.chance(0.1) ? this.number() : `0x${(0x40 + i).toString(16)}`}; ${r.chance(0.5) ? "ats: true; " : ""}${r.chance(0.2) ? `pasid_bits: ${r.below(22)}; ` : ""}}`);
    }
    const domains = 1 + r.below(4);
    for (let i = 0; i < domains; i++) {
      const name = this.name("d", i);
      n.domains.push(name);
      const stage = r.pick(["s1", "s1", "s2", "sva"]);
      if (stage === "sva") n.procs.push(name);
      const pin = r.chance(0.25) ? (stage === "s2" ? ` vmid: ${r.below(4)};` : stage === "s1" ? ` asid: ${r.below(4)};` : "") : "";
      lines.push(`domain ${name} { stage: ${stage};${pin}${r.chance(0.1) ? ` page_size: ${r.pick(["4K", "16K", "64K", "8K"])};` : ""} }`);
    }
    if (r.chance(0.1)) lines.push(`for i in 0 .. ${this.expr(1)} { domain extra#i { stage: s1; } }`);
    return lines;
  }

  private statement(n: Names, depth: number): string {
    const r = this.r;
    const addr = (): string => (r.chance(0.05) ? r.pick(EDGE_ADDRS) : r.pick(ADDRS));
    const size = (): string => (r.chance(0.05) ? r.pick(EDGE_SIZES) : r.pick(SIZES));
    const dev = (): string => (r.chance(0.05) ? "nosuch" : r.pick(n.devices));
    const dom = (): string => (r.chance(0.05) ? r.pick(["blocked", "identity", "nosuch"]) : r.pick(n.domains));
    /* a domain that is no process's (an SVA domain is named by its process) */
    const paged = (): string => r.pick(n.domains.filter((d) => !n.procs.includes(d))) ?? dom();
    const smmu = (): string => r.pick(n.smmus);
    const body = (): string => Array.from({ length: 1 + r.below(3) }, () => this.statement(n, depth - 1)).join(" ");
    const k = depth > 0 ? r.below(24) : r.below(17);
    switch (k) {
      case 0:
      case 1:
        return `attach ${dev()} ${dom()}${r.chance(0.15) ? ` pasid ${this.number()}` : ""};`;
      case 2:
        return `detach ${dev()};`;
      case 3:
      case 4:
        return `map ${paged()} ${addr()} size ${size()}${r.chance(0.1) ? " readonly" : ""};`;
      case 5:
        return `unmap ${paged()} ${addr()} size ${size()};`;
      case 6:
        return `dma ${dev()} ${r.pick(["read", "write"])} ${addr()}${r.chance(0.1) ? ` pasid ${r.below(4)}` : ""};`;
      case 7:
        return `flush ${paged()};`;
      case 8:
        return n.procs.length ? (r.chance(0.5) ? `mm invalidate ${r.pick(n.procs)} ${addr()} size ${size()};` : `mm release ${r.pick(n.procs)};`) : `flush ${paged()};`;
      case 9:
        return n.procs.length && r.chance(0.5) ? `sva bind ${dev()} ${r.pick(n.procs)} pasid ${1 + r.below(4)};` : `sva unbind ${dev()} pasid 1;`;
      case 10:
        return `fail alloc ${r.pick(["invs", "master_domain", "cd_table", "bogus"])}${r.chance(0.3) ? ` count ${this.number()}` : ""};`;
      case 11:
        return r.pick(["expect no stale;", `expect stale ${dev()};`, `expect dma ${dev()} read ${addr()} via ${r.pick(["atc", "iotlb", "walk", "bypass"])};`]);
      case 12:
        return `expect count ${smmu()} ${r.pick(OPCODES)} ${this.number()};`;
      case 13:
        return `expect commands ${smmu()} ${r.chance(0.5) ? "contains " : ""}{ ${r.pick(OPCODES)} ${r.pick(["asid", "vmid", "sid", "addr", "size"])} ${this.number()}${r.chance(0.3) ? " ..." : ""}; }`;
      case 14:
        return `expect invs ${dom()} { ${smmu()} ${r.pick(ENTRY_TYPES)} ${this.number()} users ${r.below(3)}; }`;
      case 15:
        return `fault ${dev()} atc_no_response${r.chance(0.5) ? " off" : ""};`;
      case 16:
        /* a typo, now and then inside a loop that repeats it */
        if (r.chance(0.8)) return "expect no stale;";
        return r.pick(["atach dev0 d0;", `attach ${dev()} ${dom()} pasid;`, "expect count;", "map d0 size 4K;"]);
      case 17:
      case 18:
        return `for ${r.pick(["i", "j"])} in ${this.expr(1)} .. ${r.chance(0.01) ? "999999" : r.below(8)} { ${body()} }`;
      case 19:
      case 20:
        return `concurrently { ${Array.from({ length: 2 + r.below(2), }, () => (r.chance(0.05) ? this.statement(n, 0) : this.operation(n))).join(" ")} }`;
      case 21:
        return `expect error ${r.pick(ERRORS)} { ${body()} }`;
      case 22:
        return `expect warn "${r.pick(["arm_smmu_invs_unref", "users < 0", "nothing"])}" { ${body()} }`;
      default:
        return `expect count ${smmu()} commands ${this.expr(2)};`;
    }
  }

  /** An operation `concurrently` runs on a CPU of its own. */
  private operation(n: Names): string {
    const r = this.r;
    const d = r.pick(n.domains.filter((x) => !n.procs.includes(x))) ?? r.pick(n.domains);
    return r.pick([`attach ${r.pick(n.devices)} ${d};`, `detach ${r.pick(n.devices)};`, `map ${d} 0x10000 size 4K;`, `unmap ${d} 0x10000 size 4K;`, `flush ${d};`, `dma ${r.pick(n.devices)} read 0x10000;`]);
  }

  /** One case: a whole file. */
  file(): string {
    const r = this.r;
    const n: Names = { smmus: [], devices: [], domains: [], procs: [] };
    const lines = this.topology(n);
    if (r.chance(0.3)) lines.unshift(`driver ${r.pick(["invs", "legacy", "invs v9", "invs share", "legacy v7.0", "nosuch"])};`);
    const scenarios = 1 + r.below(3);
    for (let s = 0; s < scenarios; s++) {
      lines.push(`scenario "s${s}" {`);
      const count = 1 + r.below(10);
      for (let i = 0; i < count; i++) lines.push(`  ${this.statement(n, 2)}`);
      lines.push("}");
    }
    /* deep brackets around the limit (64 by default) */
    if (r.chance(0.02)) {
      const depth = 60 + r.below(600);
      lines.push(`param DEEP = ${"(".repeat(depth)}1${")".repeat(depth)};`);
    }
    let text = lines.join("\n") + "\n";
    if (r.chance(0.08)) text = this.mutate(text);
    if (r.chance(0.02)) text = `\uFEFF${text}`;
    return text;
  }

  /** A token dropped, doubled, or swapped with another. */
  private mutate(text: string): string {
    const tokens = text.split(/(\s+)/);
    const r = this.r;
    for (let k = 1 + r.below(3); k > 0; k--) {
      const i = r.below(tokens.length);
      switch (r.below(3)) {
        case 0:
          tokens.splice(i, 1);
          break;
        case 1:
          tokens.splice(i, 0, tokens[i] ?? "");
          break;
        default: {
          const j = r.below(tokens.length);
          [tokens[i], tokens[j]] = [tokens[j]!, tokens[i]!];
        }
      }
    }
    return tokens.join("");
  }
}
