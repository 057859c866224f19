//! Fuzz target: any text as a scan, verified against the vector world (decode, JWS, JSON,
//! claims, trust, status). Must never panic and must always give a code unless valid.
#![no_main]

use cellproof_core::{verify, Context, Overall, StatusStore, TrustStore, UnixTime};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let trust = TrustStore::new();
    let status = StatusStore::new();
    let v = verify(text, &Context::new(&trust, &status, UnixTime(1_800_000_000)));
    assert_eq!(v.overall == Overall::Valid, v.code.is_none());
});
