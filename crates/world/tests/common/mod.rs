//! Shared by the vector-based tests: reading `tests/vectors/` and building the stores a case
//! names.

#![allow(dead_code)] // each test crate uses a different subset

use std::path::PathBuf;

use cellproof_core::{PublicKey, StatusStore, TrustStore};
use serde_json::Value;

pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors")
}

pub fn read(rel: &str) -> String {
    std::fs::read_to_string(dir().join(rel)).unwrap_or_else(|e| panic!("reading {rel}: {e}"))
}

pub fn cases() -> Vec<Value> {
    let v: Value = serde_json::from_str(&read("cases.json")).unwrap();
    v["cases"].as_array().unwrap().clone()
}

/// The trust and status stores of a case: its pinned roots, trust lists and status lists.
pub fn case_stores(case: &Value) -> (TrustStore, StatusStore) {
    let name = case["name"].as_str().unwrap_or_default();
    let mut trust = TrustStore::new();
    for (eco, path) in case["roots"].as_object().unwrap() {
        let jwk: Value = serde_json::from_str(&read(path.as_str().unwrap())).unwrap();
        trust.pin_root(eco, &PublicKey::from_jwk(&jwk).unwrap());
    }
    let lists: Vec<String> = case["trust_lists"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| read(p.as_str().unwrap()))
        .collect();
    for r in trust.insert_all(lists.iter().map(String::as_str)) {
        r.unwrap_or_else(|e| panic!("{name}: trust list refused: {e}"));
    }
    let mut status = StatusStore::new();
    for p in case["status_lists"].as_array().unwrap() {
        status
            .insert(&read(p.as_str().unwrap()), &trust)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    (trust, status)
}

pub fn case(name: &str) -> Value {
    cases()
        .into_iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no case {name}"))
}
