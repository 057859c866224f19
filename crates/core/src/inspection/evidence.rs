//! The evidence pack (`docs/inspection.md`): the artifacts themselves beside the report, one
//! strict JSON file.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::report::{Artifacts, Photo};
use super::{MAX_EVIDENCE, MAX_PACK, MAX_PHOTO, PACK_FORMAT};
use crate::error::Error;
use crate::json::Obj;
use crate::jws::{b64_decode, b64_encode};
use crate::passport::sha256_b64;

/// The artifacts themselves, beside the report (`docs/inspection.md`): one JSON file.
/// Artifacts are keyed by the digest the report names them under (passport versions by
/// place, as the chain is ordered), so each is matched to its evidence entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EvidencePack {
    /// The report (compact JWS), when the pack is the one-file export.
    pub report: Option<String>,
    /// The scanned text.
    pub scan: Option<String>,
    /// Passport versions, oldest first.
    pub versions: Vec<String>,
    /// Attestations by digest.
    pub attestations: BTreeMap<String, String>,
    /// Trust lists by digest.
    pub trust_lists: BTreeMap<String, String>,
    /// Status lists by digest.
    pub status_lists: BTreeMap<String, String>,
    /// Photos by digest.
    pub photos: BTreeMap<String, Photo>,
}

impl EvidencePack {
    /// The pack of a report and the artifacts it was built from.
    pub fn new(report: Option<&str>, artifacts: &Artifacts) -> EvidencePack {
        let by_digest = |items: &[String]| -> BTreeMap<String, String> {
            items
                .iter()
                .map(|t| (sha256_b64(t.trim().as_bytes()), t.trim().to_owned()))
                .collect()
        };
        let (versions, attestations) = match &artifacts.chain {
            Some(c) => (
                c.versions.iter().map(|v| v.trim().to_owned()).collect(),
                c.attestations
                    .values()
                    .map(|a| (sha256_b64(a.trim().as_bytes()), a.trim().to_owned()))
                    .collect(),
            ),
            None => (Vec::new(), BTreeMap::new()),
        };
        EvidencePack {
            report: report.map(|r| r.trim().to_owned()),
            scan: Some(artifacts.scan.trim().to_owned()),
            versions,
            attestations,
            trust_lists: by_digest(&artifacts.trust_lists),
            status_lists: by_digest(&artifacts.status_lists),
            photos: artifacts
                .photos
                .iter()
                .map(|p| (sha256_b64(&p.bytes), p.clone()))
                .collect(),
        }
    }

    /// The pack's JSON (`docs/inspection.md`).
    pub fn to_json(&self) -> String {
        let photos: Map<String, Value> = self
            .photos
            .iter()
            .map(|(d, p)| {
                (
                    d.clone(),
                    json!({"mediaType": p.media_type, "data": b64_encode(&p.bytes)}),
                )
            })
            .collect();
        let mut v = json!({
            "format": PACK_FORMAT,
            "passport": {"versions": self.versions, "attestations": self.attestations},
            "trustLists": self.trust_lists,
            "statusLists": self.status_lists,
            "photos": photos,
        });
        if let Some(o) = v.as_object_mut() {
            if let Some(r) = &self.report {
                o.insert("report".into(), r.clone().into());
            }
            if let Some(s) = &self.scan {
                o.insert("scan".into(), s.clone().into());
            }
        }
        v.to_string()
    }

    /// Reads a pack: strict JSON (no duplicate members at any depth), the `format`, strings
    /// where artifacts go, bounded counts and sizes.
    pub fn from_json(text: &str) -> Result<EvidencePack, Error> {
        if text.len() > MAX_PACK {
            return Err(Error::InputTooLarge {
                what: "evidence pack",
                limit: MAX_PACK,
            });
        }
        let map = crate::json::parse_object(text.as_bytes())?;
        let bad = |detail: &str| Error::EvidencePackInvalid {
            detail: detail.to_owned(),
        };
        let o = Obj::new(&map, "");
        let map_err = |e: Error| Error::EvidencePackInvalid {
            detail: e.to_string(),
        };
        if o.str("format").map_err(map_err)? != PACK_FORMAT {
            return Err(bad("format must be cellproof-evidence-pack/1"));
        }
        let strings = |m: Option<&Map<String, Value>>, what: &str| {
            let mut out = BTreeMap::new();
            let Some(m) = m else { return Ok(out) };
            if m.len() > MAX_EVIDENCE {
                return Err(bad(&format!(
                    "{what} holds more than {MAX_EVIDENCE} entries"
                )));
            }
            for (k, v) in m {
                let s = v
                    .as_str()
                    .ok_or_else(|| bad(&format!("{what} must map digests to compact JWS")))?;
                out.insert(k.clone(), s.to_owned());
            }
            Ok(out)
        };
        let (versions, attestations) = match o.opt_obj("passport").map_err(map_err)? {
            None => (Vec::new(), BTreeMap::new()),
            Some(p) => {
                let po = Obj::new(p, "passport");
                let versions = match po.opt_array("versions").map_err(map_err)? {
                    None => Vec::new(),
                    Some(a) if a.len() > MAX_EVIDENCE => {
                        return Err(bad("passport.versions holds too many versions"))
                    }
                    Some(a) => a
                        .iter()
                        .map(|v| v.as_str().map(str::to_owned))
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(|| bad("passport.versions must hold compact JWS"))?,
                };
                let att = strings(
                    po.opt_obj("attestations").map_err(map_err)?,
                    "passport.attestations",
                )?;
                (versions, att)
            }
        };
        let mut photos = BTreeMap::new();
        if let Some(m) = o.opt_obj("photos").map_err(map_err)? {
            if m.len() > MAX_EVIDENCE {
                return Err(bad("photos holds too many photos"));
            }
            for (k, v) in m {
                let p = v
                    .as_object()
                    .ok_or_else(|| bad("photos must map digests to {mediaType, data}"))?;
                let po = Obj::new(p, "photos");
                let data = po.str("data").map_err(map_err)?;
                if data.len() > MAX_PHOTO.saturating_mul(4) / 3 + 4 {
                    return Err(bad("a photo is larger than 8 MiB"));
                }
                let bytes =
                    b64_decode(data, "payload").map_err(|_| bad("photo data is not base64url"))?;
                photos.insert(
                    k.clone(),
                    Photo {
                        media_type: po.str("mediaType").map_err(map_err)?.to_owned(),
                        bytes,
                    },
                );
            }
        }
        Ok(EvidencePack {
            report: o.opt_str("report").map_err(map_err)?.map(str::to_owned),
            scan: o.opt_str("scan").map_err(map_err)?.map(str::to_owned),
            versions,
            attestations,
            trust_lists: strings(o.opt_obj("trustLists").map_err(map_err)?, "trustLists")?,
            status_lists: strings(o.opt_obj("statusLists").map_err(map_err)?, "statusLists")?,
            photos,
        })
    }
}
