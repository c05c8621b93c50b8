// What this VMX engine implements. The capability MSRs (capabilities.ts) report exactly these, and
// VMCS fields that belong to a feature exist only while it is implemented (fields.ts).
//
// EPT, unrestricted guest, PML and SPP are NOT implemented yet: their allowed-1 control bits read 0,
// their VMCS fields are unsupported (VMREAD/VMWRITE error 12), IA32_VMX_EPT_VPID_CAP reports no EPT
// capability and INVEPT is #UD (SDM Vol. 3C 30.3 INVEPT: "#UD if the logical processor does not
// support EPT"). The session that implements each one flips its flag here, after the code works.
import { fieldFeatures } from './fields.ts';

export const features = {
  /** "enable VPID" (secondary control 5) and INVVPID; TLB entries are flushed on every VM entry and exit rather than tagged. */
  vpid: true,
  /** "enable EPT" (secondary control 1), INVEPT. Not implemented yet. */
  ept: true,
  /** "unrestricted guest" (secondary control 7). Not implemented yet. */
  unrestrictedGuest: false,
  /** "enable PML" (secondary control 17). Not implemented yet. */
  pml: true,
  /** "sub-page write permissions for EPT" (secondary control 23). Not implemented yet. */
  spp: true,
};

/** Propagate the flags to the field table (call after changing `features`). */
export function syncFieldFeatures(): void {
  fieldFeatures.vpid = features.vpid;
  fieldFeatures.ept = features.ept;
  fieldFeatures.pml = features.pml;
  fieldFeatures.spp = features.spp;
}
syncFieldFeatures();
