//! One way to verify a W3C credential as `vc+jwt` (SPEC.md sections 3.1, 3.3, 6.3, 6.4):
//! parse the compact JWS, read its VC 2.0 envelope (context, type, issuer, `validFrom`),
//! resolve the issuer with the roles the kind needs at `validFrom`, check the strict signature
//! under the key found, and hand out the signed payload and its subject. Passports,
//! attestations, restricted sections and inspection reports all go through [`verify_vc`] (or
//! its two steps, [`UnverifiedVc::parse`] then [`UnverifiedVc::verify`], where a caller checks
//! something between them), so the order and the errors are the same everywhere.

use serde_json::{Map, Value};

use crate::error::Error;
use crate::inspection::{MAX_REPORT, REPORT_TYPE};
use crate::jws::{Jws, Typ, VerifiedJws};
use crate::passport::{vc_envelope, CERTIFIER_ROLES, MAX_PASSPORT};
use crate::restricted::{INSPECTOR_ROLES, RESTRICTED_TYPE};
use crate::trust::{IssuerMatch, TrustStore, CREDENTIAL_ROLES};

/// What kind of credential is expected: its VC `type`, the roles that may sign it, its size
/// limit and the error its envelope or subject faults are reported as.
#[derive(Clone, Copy, Debug)]
pub struct VcKind {
    /// The VC type that `type` must include (`BatteryPassport`, ...).
    pub vc_type: &'static str,
    /// The roles the issuer needs (SPEC.md section 1).
    pub roles: &'static [&'static str],
    /// Largest compact JWS accepted, in bytes.
    pub max: usize,
    /// The error a malformed envelope or subject is (`passport_invalid`, ...).
    pub invalid: fn(String) -> Error,
}

/// A passport version (SPEC.md section 3.1).
pub const PASSPORT: VcKind = VcKind {
    vc_type: "BatteryPassport",
    roles: &CREDENTIAL_ROLES,
    max: MAX_PASSPORT,
    invalid: |detail| Error::PassportInvalid { detail },
};

/// A UNTP Digital Product Passport 0.6, resolved online and read as a passport (SPEC.md
/// section 3.5).
pub const UNTP_DPP: VcKind = VcKind {
    vc_type: "DigitalProductPassport",
    roles: &CREDENTIAL_ROLES,
    max: MAX_PASSPORT,
    invalid: |detail| Error::PassportInvalid { detail },
};

/// A UNTP Digital Conformity Credential 0.6, read as an attestation (SPEC.md section 3.3).
pub const UNTP_DCC: VcKind = VcKind {
    vc_type: "DigitalConformityCredential",
    roles: &CERTIFIER_ROLES,
    max: MAX_PASSPORT,
    invalid: |detail| Error::AttestationInvalid { detail },
};

/// An attestation (SPEC.md section 3.3).
pub const ATTESTATION: VcKind = VcKind {
    vc_type: "ConformityAttestation",
    roles: &CERTIFIER_ROLES,
    max: MAX_PASSPORT,
    invalid: |detail| Error::AttestationInvalid { detail },
};

/// A restricted passport section (SPEC.md section 6.3).
pub const RESTRICTED: VcKind = VcKind {
    vc_type: RESTRICTED_TYPE,
    roles: &CREDENTIAL_ROLES,
    max: MAX_PASSPORT,
    invalid: |detail| Error::RestrictedInvalid { detail },
};

/// An inspection report (SPEC.md section 6.4).
pub const REPORT: VcKind = VcKind {
    vc_type: REPORT_TYPE,
    roles: &INSPECTOR_ROLES,
    max: MAX_REPORT,
    invalid: |detail| Error::ReportInvalid { detail },
};

/// A parsed credential whose envelope was read but nothing checked yet.
#[derive(Debug)]
pub struct UnverifiedVc {
    jws: Jws,
    kind: VcKind,
    /// The issuer's DID (`issuer` or `issuer.id`), unverified.
    pub issuer: String,
    /// `validFrom`, unverified.
    pub valid_from: u64,
}

/// A credential whose issuer was found with the kind's roles at its `validFrom` and whose
/// signature holds under that issuer's key. Only [`UnverifiedVc::verify`] makes one.
#[derive(Debug)]
pub struct VerifiedVc {
    jws: VerifiedJws,
    kind: VcKind,
    /// The issuer's DID.
    pub issuer: String,
    /// `validFrom`.
    pub valid_from: u64,
    /// The issuer as the trust store found it: entity, key, home ecosystem, path.
    pub signer: IssuerMatch,
}

impl UnverifiedVc {
    /// Parses the compact JWS (`vc+jwt`, at most `kind.max` bytes) and reads its envelope.
    pub fn parse(compact: &str, kind: &VcKind) -> Result<UnverifiedVc, Error> {
        Self::read(Jws::parse(compact.trim(), Typ::Vc, kind.max)?, kind)
    }

    /// [`UnverifiedVc::parse`] for a passport obtained by resolution: `ES256` is read too
    /// (SPEC.md section 1); only a did:web document's P-256 key can check it.
    pub fn parse_resolved(compact: &str, kind: &VcKind) -> Result<UnverifiedVc, Error> {
        Self::read(
            Jws::parse_resolved(compact.trim(), Typ::Vc, kind.max)?,
            kind,
        )
    }

    fn read(jws: Jws, kind: &VcKind) -> Result<UnverifiedVc, Error> {
        let (issuer, valid_from) =
            vc_envelope(jws.unverified_payload(), kind.vc_type).map_err(kind.invalid)?;
        Ok(UnverifiedVc {
            jws,
            kind: *kind,
            issuer,
            valid_from,
        })
    }

    /// The payload as received, before any check: for routing and messages only.
    pub fn unverified_payload(&self) -> &Map<String, Value> {
        self.jws.unverified_payload()
    }

    /// The header's `kid`.
    pub fn kid(&self) -> &str {
        &self.jws.header().kid
    }

    /// Resolves the issuer with the kind's roles at `validFrom` (key window, one home,
    /// freshness at `now`) and checks the strict signature under its key.
    pub fn verify(self, trust: &TrustStore, now: u64) -> Result<VerifiedVc, Error> {
        let signer = trust
            .resolve(
                &self.issuer,
                &self.jws.header().kid,
                self.valid_from,
                self.kind.roles,
                now,
            )
            .result?;
        self.verify_signed_by(signer)
    }

    /// Whether the strict signature holds under `key`, for a verdict's signature stage when
    /// the issuer lookup failed but named a key (as the label's credential is checked).
    pub(crate) fn signature_under(&self, key: &crate::jws::AnyKey) -> Result<(), Error> {
        self.jws.clone().verify_key(key).map(|_verified| ())
    }

    /// Checks the strict signature under an issuer the caller resolved itself (a verdict
    /// that reports trust and signature as separate stages, `verify_resolved`).
    pub(crate) fn verify_signed_by(self, signer: IssuerMatch) -> Result<VerifiedVc, Error> {
        let jws = self.jws.verify(&signer.key.x)?;
        Ok(VerifiedVc {
            jws,
            kind: self.kind,
            issuer: self.issuer,
            valid_from: self.valid_from,
            signer,
        })
    }
}

impl VerifiedVc {
    /// The signed payload.
    pub fn payload(&self) -> &Map<String, Value> {
        self.jws.payload()
    }

    /// The signed `credentialSubject`; missing is the kind's invalid error.
    pub fn subject(&self) -> Result<&Map<String, Value>, Error> {
        self.payload()
            .get("credentialSubject")
            .and_then(Value::as_object)
            .ok_or_else(|| (self.kind.invalid)("credentialSubject is missing".into()))
    }
}

/// Parses, reads the envelope, resolves the issuer and verifies the signature: the one way to
/// a [`VerifiedVc`].
pub fn verify_vc(
    compact: &str,
    kind: &VcKind,
    trust: &TrustStore,
    now: u64,
) -> Result<VerifiedVc, Error> {
    UnverifiedVc::parse(compact, kind)?.verify(trust, now)
}
