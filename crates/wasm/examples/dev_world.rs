//! Writes a demo registry's data for a given origin, shaped like what `cellproof-server --demo`
//! serves (`/v1/roots`, `/v1/bundle`, `demo/manifest.json`), so the page and its browser tests
//! can be developed with a static file server when the registry is not at hand:
//!
//! `cargo run -p cellproof-wasm --example dev_world -- http://127.0.0.1:8080 OUT_DIR`
//!
//! Keys come from `cellproof-world`'s public seed: never for anything real.

use cellproof_core::Purpose;
use cellproof_world::{derive_key, World, DAY};
use serde_json::json;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let origin = args.next().ok_or("usage: dev_world ORIGIN OUT_DIR")?;
    let out = std::path::PathBuf::from(args.next().ok_or("usage: dev_world ORIGIN OUT_DIR")?);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let origin = origin.trim_end_matches('/').to_owned();
    let w = World::new("cellproof-dev", &origin, now - DAY);
    let trust = [
        w.sign_trust_list(&w.trust_list("catena-x")),
        w.sign_trust_list(&w.trust_list("ouranos")),
    ];
    let (from, until) = (now - 3_600, now + 7 * DAY);
    let mut status = Vec::new();
    for (issuer, list) in [(&w.acme, "3"), (&w.denchi, "1")] {
        for (p, set) in [
            (Purpose::Revocation, vec![1_001]),
            (Purpose::Suspension, vec![2_002]),
            (Purpose::Refresh, vec![3_003]),
        ] {
            status.push(w.status_list(issuer, list, p, &set, from, until));
        }
    }
    let mut samples = Vec::new();
    let mut sample = |name: &str, issuer: &cellproof_world::Issuer, serial: &str, st: &str| {
        let claims = w.sample_claims(issuer, serial, Some(st), &origin);
        let c = w.issue(issuer, &claims, now - 7_200)?;
        samples.push(json!({"name": name, "url": c.url()}));
        Ok::<_, cellproof_core::Error>(())
    };
    // The names `cellproof-server --demo` gives its samples, plus an unknown issuer.
    sample("valid", &w.acme, "SN-DEV-0001", "3/100")?;
    sample("revoked", &w.acme, "SN-DEV-0004", "3/1001")?;
    sample("suspended", &w.acme, "SN-DEV-0005", "3/2002")?;
    sample("superseded", &w.acme, "SN-DEV-0006", "3/3003")?;
    sample("ouranos-valid", &w.denchi, "SN-DEV-0007", "1/100")?;
    sample("ouranos-revoked", &w.denchi, "SN-DEV-0008", "1/1001")?;
    sample("ouranos-suspended", &w.denchi, "SN-DEV-0009", "1/2002")?;
    let mut rogue = w.acme.clone();
    rogue.did = "did:web:rogue.example".into();
    rogue.key = derive_key("cellproof-dev", "rogue", "k1");
    sample("unknown-issuer", &rogue, "SN-DEV-0010", "3/103")?;
    let roots = json!({"roots": [
        {"eco": "catena-x", "root": root_jwk(&w, "catena-x")},
        {"eco": "ouranos", "root": root_jwk(&w, "ouranos")},
    ]});
    let bundle = json!({"registry": origin, "trustLists": trust, "statusLists": status});
    let manifest = json!({
        "server": origin,
        "ecosystems": roots["roots"],
        "issuers": [w.acme.did, w.denchi.did],
        "samples": samples,
    });
    std::fs::create_dir_all(out.join("demo"))?;
    std::fs::write(out.join("roots.json"), roots.to_string())?;
    std::fs::write(out.join("bundle.json"), bundle.to_string())?;
    std::fs::write(out.join("demo/manifest.json"), manifest.to_string())?;
    Ok(())
}

fn root_jwk(w: &World, eco: &str) -> serde_json::Value {
    let mut pk = w.root(eco).public();
    pk.kid = None;
    pk.to_jwk()
}
