//! Mutation robustness: thousands of corrupted versions of every vector input go through the
//! verifier, the trust store and the status store. Nothing may panic, and every non-valid
//! verdict must carry a deciding code and a failed stage with that code. (A stable-Rust
//! companion to the cargo-fuzz targets in `fuzz/`.)

mod common;

use cellproof_core::{verify, verify_many, Context, Outcome, Overall, UnixTime};
use common::{case, case_stores, cases, read};

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, s: &str) -> String {
    let mut b = s.as_bytes().to_vec();
    for _ in 0..=rng.below(3) {
        let i = rng.below(b.len());
        match rng.below(6) {
            0 if !b.is_empty() => b[i] ^= 1 << rng.below(8),
            1 if !b.is_empty() => {
                b.remove(i);
            }
            2 => b.insert(i.min(b.len()), b"0123456789.-_=#/%{}\"\xff"[rng.below(21)]),
            3 => b.truncate(i),
            4 if !b.is_empty() => b[i] = b'0' + (rng.below(10) as u8),
            _ => {
                let j = rng.below(b.len());
                if i < j {
                    let dup = b[i..j].to_vec();
                    b.extend_from_slice(&dup);
                }
            }
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

fn check(v: &cellproof_core::Verdict, input: &str) {
    assert_eq!(v.overall == Overall::Valid, v.code.is_none(), "{input}");
    if let Some(code) = v.code {
        assert!(
            v.stages
                .iter()
                .any(|s| s.outcome == Outcome::Failed && s.code == Some(code)),
            "{input}"
        );
    }
    assert_eq!(v.stages.len(), 8);
}

#[test]
fn corrupted_scans_and_lists_never_panic() {
    let (trust, status) = case_stores(&case("reference-valid"));
    let lists = [read("trust-lists/catena-x.jws")];
    let ctx = Context::new(&trust, &status, UnixTime(1_796_169_600));
    let inputs: Vec<String> = cases()
        .iter()
        .map(|c| c["input"].as_str().unwrap().to_owned())
        .collect();
    let mut rng = Rng(0x5eed_cafe);
    let mut not_valid = 0;
    let mut batch = Vec::new();
    for round in 0..150 {
        for input in &inputs {
            let m = mutate(&mut rng, input);
            let v = verify(&m, &ctx);
            check(&v, &m);
            not_valid += usize::from(v.overall != Overall::Valid);
            if round % 10 == 0 {
                batch.push(m);
            }
        }
    }
    // The batch path on the same corrupted inputs agrees with one by one.
    let refs: Vec<&str> = batch.iter().map(String::as_str).collect();
    for (m, v) in refs.iter().zip(verify_many(&refs, &ctx)) {
        assert_eq!(v, verify(m, &ctx), "{m}");
    }
    assert!(
        not_valid > inputs.len() * 100,
        "mutations are mostly caught: {not_valid}"
    );
    // Corrupted trust and status lists are refused with a code, never accepted or panicking.
    for _ in 0..400 {
        let mut t = trust.clone();
        let bad = mutate(&mut rng, &lists[0]);
        if let Err(e) = t.insert(&bad) {
            assert!(!e.code().is_empty());
        }
        let bad = mutate(&mut rng, &read("status-lists/acme-3-suspension.jws"));
        let mut s = status.clone();
        if let Err(e) = s.insert(&bad, &trust) {
            assert!(!e.code().is_empty());
        }
    }
}
