//! The status sync of 100 million batteries (`docs/BENCHMARKS.md`, "Status at 100 million
//! entries"); run by `cargo xtask bench-scale [LISTS]` in a release build.
//!
//! A deterministic world (seeded): LISTS lists of 131,072 entries (763 by default: 100,007,936
//! entries), every entry allocated, 1% revoked and 0.2% suspended at random; every list
//! published twice (revocation and suspension) as W3C `vc+jwt` and in the compact form, then a
//! day of 10,000 more revocations and the delta. Reports times, sizes beside the entropy bound
//! (log2 C(n, k) summed over the lists) and peak memory, checks that the compact and delta
//! forms decode to exactly the W3C lists, and writes the bodies to `target/bench-scale/` for the
//! browser measurement (`tests/browser/scale.mjs`).
//!
//! In-process, with the registry's own publication functions (`status_list_payload`,
//! `sign_status_list`, `sign_compact`): no HTTP, no database.

use std::io::Write as _;
use std::time::Instant;

use anyhow::{ensure, Context as _, Result};

use cellproof_core::{
    changed_positions, entropy_bound_bits, set_positions, sign_compact, sign_status_list,
    status_list_payload, Bitstring, CompactRecord, Purpose, StatusListSpec, StatusStore,
    TrustStore, MIN_ENTRIES,
};
use cellproof_world::{World, DAY};

const T0: u64 = 1_796_083_200;

/// xorshift64*: deterministic, good enough to scatter revocations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Sets `k` distinct random entries among `total` across lists that are still clear in `bits`
/// and in `avoid`.
fn scatter(rng: &mut Rng, bits: &mut [Bitstring], avoid: &[Bitstring], k: u64) -> Result<()> {
    let per = MIN_ENTRIES;
    let total = per * bits.len() as u64;
    let mut done = 0;
    while done < k {
        let g = rng.below(total);
        let (l, i) = ((g / per) as usize, g % per);
        if bits[l].get(i)? == 0 && avoid.get(l).map_or(Ok(0), |a| a.get(i))? == 0 {
            bits[l].set(i, true)?;
            done += 1;
        }
    }
    Ok(())
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn gzip_len(bytes: &[u8]) -> Result<usize> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    gz.write_all(bytes)?;
    Ok(gz.finish()?.len())
}

struct Published {
    w3c: Vec<String>,
    records: Vec<CompactRecord>,
}

fn publish(
    w: &World,
    base: &str,
    rev: &[Bitstring],
    sus: &[Bitstring],
    vf: u64,
) -> Result<Published> {
    let mut w3c = Vec::new();
    let mut records = Vec::new();
    for (n, (r, s)) in rev.iter().zip(sus).enumerate() {
        for (p, bits) in [(Purpose::Revocation, r), (Purpose::Suspension, s)] {
            let id = p.list_url(base, &n.to_string());
            let spec = StatusListSpec {
                id: &id,
                issuer: &w.authority_did,
                purpose: p,
                valid_from: vf,
                valid_until: vf + DAY,
                ttl_ms: 300_000,
            };
            w3c.push(sign_status_list(
                &status_list_payload(&spec, bits),
                &w.authority,
            ));
            records.push(CompactRecord {
                id,
                valid_from: vf,
                valid_until: vf + DAY,
                ttl_ms: 300_000,
                base: None,
                entries: bits.entries(),
                positions: set_positions(bits),
            });
        }
    }
    Ok(Published { w3c, records })
}

fn bundle_json(trust: &str, w3c: &[String]) -> String {
    serde_json::json!({
        "registry": "https://registry.example",
        "trustLists": [trust],
        "statusLists": w3c,
    })
    .to_string()
}

fn main() -> Result<()> {
    let rest: Vec<String> = std::env::args().skip(1).collect();
    let lists: usize = match rest.first() {
        Some(n) => n.parse().context("LISTS must be a number")?,
        None => 763,
    };
    ensure!(lists > 0, "LISTS must be at least 1");
    let entries = lists as u64 * MIN_ENTRIES;
    let w = World::new("bench-scale", "https://registry.example", T0);
    let base = w.status_base(&w.acme);
    let trust_jws = w.sign_trust_list(&w.trust_list("catena-x"));
    let mut trust = TrustStore::new();
    trust.pin_root("catena-x", &w.root("catena-x").public());
    trust
        .insert(&trust_jws)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut rng = Rng(0x5eed_cafe_f00d_0001);

    // Allocation: every entry of every list handed out (the registry's allocated bitstrings),
    // then the revocations and suspensions.
    let t = Instant::now();
    let allocated: Vec<Bitstring> = (0..lists)
        .map(|_| {
            Bitstring::new(vec![0xff; (MIN_ENTRIES / 8) as usize], 1)
                .map_err(|e| anyhow::anyhow!("{e}"))
        })
        .collect::<Result<_>>()?;
    let alloc_time = t.elapsed();
    let mut rev: Vec<Bitstring> = (0..lists).map(|_| Bitstring::zeroed(MIN_ENTRIES)).collect();
    let mut sus = rev.clone();
    let k_rev = entries / 100;
    let k_sus = entries / 500;
    scatter(&mut rng, &mut rev, &[], k_rev)?;
    scatter(&mut rng, &mut sus, &rev, k_sus)?;
    drop(allocated);

    // Publication: every list signed in both forms.
    let t = Instant::now();
    let day0 = publish(&w, &base, &rev, &sus, T0)?;
    let w3c_time = t.elapsed();
    let t = Instant::now();
    let compact = sign_compact(&w.authority_did, &day0.records, &w.authority);
    let compact_time = t.elapsed();

    let bound_bits: f64 = rev
        .iter()
        .chain(&sus)
        .map(|b| entropy_bound_bits(b.entries(), set_positions(b).len() as u64))
        .sum();
    let bound = bound_bits / 8.0;
    let w3c_raw: usize = day0.w3c.iter().map(String::len).sum();
    // The GZIP members alone (what `encodedList` carries before base64url), no JSON, no JWS.
    let gz_only: usize = rev
        .iter()
        .chain(&sus)
        .map(|b| {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            gz.write_all(b.bytes())?;
            Ok(gz.finish()?.len())
        })
        .sum::<Result<usize>>()?;
    let bundle = bundle_json(&trust_jws, &day0.w3c);
    let bundle_gz = gzip_len(bundle.as_bytes())?;
    let compact_gz = gzip_len(&compact)?;

    // Verification natively: the W3C lists one by one, and the compact body.
    let t = Instant::now();
    let mut w3c_store = StatusStore::new();
    for s in &day0.w3c {
        w3c_store
            .insert(s, &trust)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let w3c_verify = t.elapsed();
    let t = Instant::now();
    let mut store = StatusStore::new();
    let out = store
        .insert_compact(&compact, &trust)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let compact_verify = t.elapsed();
    ensure!(
        out.iter().all(|(_, r)| r.is_ok()),
        "a compact list was refused"
    );
    for l in w3c_store.lists() {
        let c = store
            .get("catena-x", &l.id, &trust)
            .context("a W3C list is missing from the compact store")?;
        ensure!(c.bits == l.bits, "{}: compact and W3C bits differ", l.id);
    }
    drop(w3c_store);

    // A day later: 10,000 more revocations, every list re-signed (past half its freshness),
    // and the delta from the first day's validFrom.
    let mut rev2 = rev.clone();
    scatter(&mut rng, &mut rev2, &[], 10_000)?;
    let vf2 = T0 + DAY / 2 + 1;
    let mut delta_all = Vec::new();
    let mut delta_changed = Vec::new();
    for (n, (a, b)) in rev.iter().zip(&rev2).enumerate() {
        for (p, old, new) in [
            (Purpose::Revocation, a, b),
            (Purpose::Suspension, &sus[n], &sus[n]),
        ] {
            let r = CompactRecord {
                id: p.list_url(&base, &n.to_string()),
                valid_from: vf2,
                valid_until: vf2 + DAY,
                ttl_ms: 300_000,
                base: Some(T0),
                entries: new.entries(),
                positions: changed_positions(old, new),
            };
            if !r.positions.is_empty() {
                delta_changed.push(r.clone());
            }
            delta_all.push(r);
        }
    }
    let t = Instant::now();
    let delta = sign_compact(&w.authority_did, &delta_all, &w.authority);
    let delta_time = t.elapsed();
    let delta_only = sign_compact(&w.authority_did, &delta_changed, &w.authority);
    let t = Instant::now();
    let out = store
        .insert_compact(&delta, &trust)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let delta_verify = t.elapsed();
    ensure!(
        out.iter().all(|(_, r)| r.is_ok()),
        "a delta record was refused"
    );
    for (n, b) in rev2.iter().enumerate() {
        let id = Purpose::Revocation.list_url(&base, &n.to_string());
        let c = store.get("catena-x", &id, &trust).context("list missing")?;
        ensure!(
            c.bits == *b && c.valid_from == vf2,
            "{id}: delta result differs"
        );
    }
    let day1 = publish(&w, &base, &rev2, &sus, vf2)?;
    let bundle1_gz = gzip_len(bundle_json(&trust_jws, &day1.w3c).as_bytes())?;

    // The bodies, for the browser measurement.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-scale");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("compact.bin"), &compact)?;
    std::fs::write(dir.join("delta.bin"), &delta)?;
    std::fs::write(dir.join("bundle.json"), &bundle)?;
    std::fs::write(dir.join("trust.jwt"), &trust_jws)?;
    std::fs::write(
        dir.join("roots.json"),
        serde_json::json!({"roots": [{"eco": "catena-x", "root": w.root("catena-x").public().to_jwk()}]})
            .to_string(),
    )?;

    let ratio = |n: usize| n as f64 / bound;
    let kb = |n: usize| n as f64 / 1000.0;
    println!(
        "\nStatus at scale: {lists} lists x 131,072 = {entries} entries, 2 purposes ({} lists)",
        2 * lists
    );
    println!("  revoked {k_rev} (1%), suspended {k_sus} (0.2%), seed 0x5eedcafef00d0001");
    println!(
        "  allocation (every entry's allocated bit) {:>10.1} ms",
        alloc_time.as_secs_f64() * 1e3
    );
    println!(
        "  publication W3C (gzip + sign, {} lists) {:>10.1} ms",
        2 * lists,
        w3c_time.as_secs_f64() * 1e3
    );
    println!(
        "  publication compact (encode + sign)   {:>10.1} ms",
        compact_time.as_secs_f64() * 1e3
    );
    println!(
        "  entropy bound sum log2 C(n,k)          {:>10.1} kB",
        bound / 1000.0
    );
    println!(
        "  W3C encodedList GZIP alone (-9, no b64) {:>10.1} kB  {:.3}x",
        kb(gz_only),
        ratio(gz_only)
    );
    println!(
        "  W3C lists, JWS text summed             {:>10.1} kB  {:.3}x",
        kb(w3c_raw),
        ratio(w3c_raw)
    );
    println!(
        "  W3C bundle JSON                        {:>10.1} kB  {:.3}x",
        kb(bundle.len()),
        ratio(bundle.len())
    );
    println!(
        "  W3C bundle JSON, HTTP gzip -6          {:>10.1} kB  {:.3}x",
        kb(bundle_gz),
        ratio(bundle_gz)
    );
    println!(
        "  compact body                           {:>10.1} kB  {:.3}x",
        kb(compact.len()),
        ratio(compact.len())
    );
    println!(
        "  compact body, HTTP gzip -6             {:>10.1} kB  {:.3}x",
        kb(compact_gz),
        ratio(compact_gz)
    );
    println!(
        "  delta after 10,000 revocations, every list re-signed {:>8.1} kB ({} records)",
        kb(delta.len()),
        delta_all.len()
    );
    println!(
        "  delta, changed lists only              {:>10.1} kB ({} records)",
        kb(delta_only.len()),
        delta_changed.len()
    );
    println!(
        "  W3C bundle the next day, HTTP gzip     {:>10.1} kB",
        kb(bundle1_gz)
    );
    println!(
        "  delta encode + sign                    {:>10.1} ms",
        delta_time.as_secs_f64() * 1e3
    );
    println!(
        "  verify + store, W3C one by one (native){:>10.1} ms",
        w3c_verify.as_secs_f64() * 1e3
    );
    println!(
        "  verify + store, compact (native)       {:>10.1} ms",
        compact_verify.as_secs_f64() * 1e3
    );
    println!(
        "  verify + apply, delta (native)         {:>10.1} ms",
        delta_verify.as_secs_f64() * 1e3
    );
    println!(
        "  peak RSS of this process               {:>10.1} MiB",
        peak_rss_mib()
    );
    println!("  bodies written to {}", dir.display());
    lifecycle_section(&w, &base, &trust, lists)?;
    Ok(())
}

/// The lifecycle lists of the same batteries (SPEC.md 1.2 section 3.4: three bits per entry,
/// `{listId}-lifecycle`) with a mix of a fleet some years on: 93% original, 1.5% repurposed,
/// 1.5% reused, 0.5% remanufactured, 1.5% waste, 2% recycled. The compact body codes the set
/// bits of each list's bitstring (`docs/status-sync.md`), compared with the entropy bound of
/// the mix (log2 of the multinomial coefficient, summed over the lists) and the W3C GZIP.
fn lifecycle_section(w: &World, base: &str, trust: &TrustStore, lists: usize) -> Result<()> {
    const MIX: [(u8, u64); 5] = [(1, 150), (2, 150), (3, 50), (4, 150), (5, 200)];
    let per = MIN_ENTRIES;
    // log2(k!) for k up to one list's entries.
    let mut lf = vec![0.0f64; per as usize + 1];
    for k in 1..=per as usize {
        lf[k] = lf[k - 1] + (k as f64).log2();
    }
    let mut rng = Rng(0x5eed_cafe_f00d_0003);
    let t = Instant::now();
    let mut bits: Vec<Bitstring> = (0..lists)
        .map(|_| Bitstring::zeroed_sized(per, Purpose::Lifecycle.status_size()))
        .collect();
    let mut bound_bits = 0.0f64;
    for b in &mut bits {
        let mut counts = Vec::new();
        for (value, per_10k) in MIX {
            let k = per * per_10k / 10_000;
            let mut done = 0;
            while done < k {
                let i = rng.below(per);
                if b.get(i)? == 0 {
                    b.set_value(i, value)?;
                    done += 1;
                }
            }
            counts.push(k);
        }
        let original = per - counts.iter().sum::<u64>();
        bound_bits += lf[per as usize]
            - lf[original as usize]
            - counts.iter().map(|&k| lf[k as usize]).sum::<f64>();
    }
    let fill_time = t.elapsed();
    let records: Vec<CompactRecord> = bits
        .iter()
        .enumerate()
        .map(|(l, b)| CompactRecord {
            id: Purpose::Lifecycle.list_url(base, &format!("L{l}")),
            valid_from: T0,
            valid_until: T0 + DAY,
            ttl_ms: 300_000,
            base: None,
            entries: b.bit_len(),
            positions: set_positions(b),
        })
        .collect();
    let t = Instant::now();
    let compact = sign_compact(&w.authority_did, &records, &w.authority);
    let compact_time = t.elapsed();
    let gz_only: usize = bits
        .iter()
        .map(|b| {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            gz.write_all(b.bytes())?;
            Ok(gz.finish()?.len())
        })
        .sum::<Result<usize>>()?;
    // The compact body decodes to exactly these lists.
    let t = Instant::now();
    let mut store = StatusStore::new();
    let out = store
        .insert_compact(&compact, trust)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    ensure!(
        out.iter().all(|(_, r)| r.is_ok()),
        "a lifecycle record was refused"
    );
    let verify_time = t.elapsed();
    for (l, b) in bits.iter().enumerate() {
        let id = Purpose::Lifecycle.list_url(base, &format!("L{l}"));
        let held = store
            .get("catena-x", &id, trust)
            .context("lifecycle list held")?;
        ensure!(held.bits == *b, "lifecycle list {l} decoded to other bits");
    }
    let bound = bound_bits / 8.0;
    let kb = |n: usize| n as f64 / 1000.0;
    println!(
        "\nLifecycle at scale: {lists} lists x 131,072 = {} batteries, 3 bits each",
        lists as u64 * per
    );
    println!("  mix per 10,000: 9,300 original, 150 repurposed, 150 reused, 50 remanufactured, 150 waste, 200 recycled");
    println!(
        "  fill {:>10.1} ms, compact encode + sign {:>10.1} ms, verify + decode {:>10.1} ms",
        fill_time.as_secs_f64() * 1e3,
        compact_time.as_secs_f64() * 1e3,
        verify_time.as_secs_f64() * 1e3
    );
    println!(
        "  entropy bound (multinomial)            {:>10.1} kB",
        bound / 1000.0
    );
    println!(
        "  W3C encodedList GZIP alone (-9, no b64) {:>10.1} kB  {:.3}x",
        kb(gz_only),
        gz_only as f64 / bound
    );
    println!(
        "  compact body                           {:>10.1} kB  {:.3}x",
        kb(compact.len()),
        compact.len() as f64 / bound
    );
    Ok(())
}
