//! Prints the QR codes of the hard decoder set (`tests/qr-hard/`, docs/qr-decoder.md): real
//! Cellproof credentials of a fixed demo world, one JSON line each with the URL text and the
//! module matrix, for `scripts/qr_hard_gen.py` to render and degrade.
//!
//! `cargo run -p cellproof-cli --example qr_hard_codes -- [COUNT]` (default 40). Deterministic:
//! fixed seed, fixed issue time, serials `SN2026H000000`, `SN2026H000001`, ...

use cellproof_qr::encode::{encode_url_numeric, Ecc};
use cellproof_world::World;
use serde_json::json;

fn main() -> anyhow::Result<()> {
    let count: u32 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(40);
    let t0 = 1_790_000_000; // 2026-09-21, fixed so the set is reproducible
    let world = World::new(
        "cellproof-qr-hard",
        "https://registry.cellproof.example",
        t0,
    );
    for i in 0..count {
        // Alternate the two manufacturers (catena-x and ouranos claims differ in length) and
        // the error-correction level, as real labels do.
        let issuer = if i % 2 == 0 {
            &world.acme
        } else {
            &world.denchi
        };
        let host = if i % 2 == 0 {
            "https://id.cells.acme.example"
        } else {
            "https://id.denchi.example"
        };
        let serial = format!("SN2026H{i:06}");
        let claims = world.sample_claims(issuer, &serial, Some(&format!("3/{}", 1000 + i)), host);
        let issued = world
            .issue(issuer, &claims, t0 + u64::from(i) * 60)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let ecc = if i % 3 == 2 { Ecc::Q } else { Ecc::M };
        let code = encode_url_numeric(&issued.url_prefix, &issued.fragment, ecc)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let n = code.modules();
        let rows: Vec<String> = (0..n)
            .map(|y| {
                (0..n)
                    .map(|x| if code.is_dark(x, y) { '1' } else { '0' })
                    .collect()
            })
            .collect();
        let line = json!({"text": issued.url(), "version": code.version, "modules": rows});
        println!("{line}");
    }
    Ok(())
}
