/**
 * A Translated transaction (IHI0070 3.9.1): the endpoint presents an address
 * its ATC translated, which the SMMU does not translate again. With
 * SMMU_CR0.ATSCHK == 1 (arm_smmu_device_reset() sets it whenever the SMMU
 * has ATS, so the model always has it) the STE must allow ATS for the
 * stream, else the transaction is terminated.
 */
import { hex, type TranslatedReply, type TranslatedRequest } from "../../src/index.js";
import { decodeSte } from "./decode.js";
import type { TranslationUnit } from "./translate.js";


/** Whether the STE of `req.sid` lets its Translated transaction through. */
export function checkTranslated(unit: Pick<TranslationUnit, "fetchSte">, req: TranslatedRequest): TranslatedReply {
  const ste = decodeSte(unit.fetchSte(req.sid));
  const sid = hex(req.sid);
  if (!ste.valid) return { kind: "fault", event: "C_BAD_STE", detail: `STE for sid ${sid} is not valid` };
  if (ste.cfg === "reserved") return { kind: "fault", event: "C_BAD_STE", detail: `STE for sid ${sid} has a reserved Config` };
  /* Config abort: Translated traffic is silently aborted */
  if (ste.cfg === "abort") return { kind: "abort", detail: `STE for sid ${sid} aborts, Translated transactions too` };
  /* Config bypass: denied as though EATS == 0b00, whatever EATS says */
  if (ste.cfg === "bypass") return { kind: "fault", event: "F_TRANSL_FORBIDDEN", detail: `Translated transaction on sid ${sid}, whose STE bypasses (ATS denied)` };
  /*
   * 0b01 (Full ATS): it passes. 0b00: denied. 0b10 (split-stage, the address
   * an IPA the SMMU would translate by stage 2) is never set by the driver
   * and not modelled: denied too. 0b11 (Full ATS with DPT checks) without
   * DPT behaves as 0b00.
   */
  if (ste.eats !== "trans") return { kind: "fault", event: "F_TRANSL_FORBIDDEN", detail: `Translated transaction on sid ${sid} with STE.EATS=${ste.eats}` };
  return { kind: "ok" };
}
