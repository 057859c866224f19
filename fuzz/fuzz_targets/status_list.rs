//! Fuzz target: any text offered as a status list, and any `encodedList` decoded.
#![no_main]

use cellproof_core::{decode_encoded_list, StatusStore, TrustStore};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = decode_encoded_list(text);
    let _ = StatusStore::new().insert(text, &TrustStore::new());
});
