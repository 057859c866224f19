//! Fuzz target: any text offered as a trust list to a store with a pinned root.
#![no_main]

use cellproof_core::TrustStore;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let w = cellproof_world::World::new("fuzz", "https://registry.example", 1_800_000_000);
    let mut store = TrustStore::new();
    store.pin_root("catena-x", &w.catena_root.public());
    let _ = store.insert(text);
});
