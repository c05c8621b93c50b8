// What this VMX engine implements. The capability MSRs (capabilities.ts) report exactly these, and
// VMCS fields that belong to a feature exist only while it is implemented (fields.ts).
//
// A feature whose flag is false has allowed-1 control bits of 0 and unsupported VMCS fields
// (VMREAD/VMWRITE error 12); without EPT, INVEPT is #UD (SDM Vol. 3C 30.3).
import { fieldFeatures } from './fields.ts';

export const features = {
  /** "enable VPID" (secondary control 5) and INVVPID; TLB contexts tagged by VPID (tlb-contexts.ts). */
  vpid: true,
  /** "enable EPT" (secondary control 1), EPT A/D flags, INVEPT (ept.ts). */
  ept: true,
  /** "unrestricted guest" (secondary control 7): guest CR0.PE/PG may be 0 under EPT (SDM 26.3.1.1, 23.8). */
  unrestrictedGuest: true,
  /** "enable PML" (secondary control 17) (pml.ts). */
  pml: true,
  /** "sub-page write permissions for EPT" (secondary control 23) (spp.ts). */
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
