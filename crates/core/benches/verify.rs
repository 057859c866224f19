//! Criterion benchmarks of the core: verify one credential, batch verification, status lookup,
//! and loading trust and status lists (figures in `docs/BENCHMARKS.md`).

#![allow(missing_docs)]

use cellproof_core::{
    decode_encoded_list, verify, verify_ed25519_many, verify_ed25519_strict, verify_many,
    Bitstring, Context, Purpose, StatusStore, TrustStore, UnixTime,
};
use cellproof_world::{World, DAY};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const T0: u64 = 1_796_083_200;

struct Setup {
    trust: TrustStore,
    status: StatusStore,
    urls: Vec<String>,
    lists: Vec<String>,
    status_raw: Vec<String>,
}

fn setup(n: usize) -> Setup {
    let w = World::new("bench", "https://registry.example", T0);
    let lists = vec![
        w.sign_trust_list(&w.trust_list("catena-x")),
        w.sign_trust_list(&w.trust_list("ouranos")),
    ];
    let mut trust = TrustStore::new();
    trust.pin_root("catena-x", &w.catena_root.public());
    for r in trust.insert_all(lists.iter().map(String::as_str)) {
        r.unwrap();
    }
    let status_raw: Vec<String> = Purpose::ALL
        .into_iter()
        .map(|p| w.status_list(&w.acme, "3", p, &[1, 2, 3], T0, T0 + 7 * DAY))
        .collect();
    let mut status = StatusStore::new();
    for s in &status_raw {
        status.insert(s, &trust).unwrap();
    }
    let urls = (0..n)
        .map(|i| {
            let claims = w.sample_claims(
                &w.acme,
                &format!("SN{i:08}"),
                Some(&format!("3/{}", 1000 + i)),
                "https://id.acme.example",
            );
            w.issue(&w.acme, &claims, T0 - DAY).unwrap().url()
        })
        .collect();
    Setup {
        trust,
        status,
        urls,
        lists,
        status_raw,
    }
}

fn benches(c: &mut Criterion) {
    let s = setup(256);
    let ctx = Context::new(&s.trust, &s.status, UnixTime(T0 + DAY));
    assert_eq!(verify(&s.urls[0], &ctx).code, None);

    c.bench_function("verify/one_credential_qr_url", |b| {
        b.iter(|| verify(&s.urls[0], &ctx))
    });

    let mut g = c.benchmark_group("verify/batch");
    for n in [16usize, 64, 256] {
        let inputs: Vec<&str> = s.urls.iter().take(n).map(String::as_str).collect();
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("one_by_one", n), &inputs, |b, inputs| {
            b.iter(|| inputs.iter().map(|i| verify(i, &ctx)).collect::<Vec<_>>())
        });
        g.bench_with_input(BenchmarkId::new("verify_many", n), &inputs, |b, inputs| {
            b.iter(|| verify_many(inputs, &ctx))
        });
    }
    g.finish();

    // The signature arithmetic alone, 256 signatures by one key (an issuer's batch).
    let key = cellproof_world::derive_key("bench", "acme", "k1");
    let pk = key.public().x;
    let msgs: Vec<Vec<u8>> = (0..256u32)
        .map(|i| format!("message {i}").into_bytes())
        .collect();
    let sigs: Vec<[u8; 64]> = msgs
        .iter()
        .map(|m| {
            use ed25519_dalek::Signer as _;
            key.signing.sign(m).to_bytes()
        })
        .collect();
    let items: Vec<(&[u8], &[u8], &[u8])> = msgs
        .iter()
        .zip(&sigs)
        .map(|(m, s)| (pk.as_slice(), m.as_slice(), s.as_slice()))
        .collect();
    let mut g = c.benchmark_group("signature");
    g.throughput(Throughput::Elements(256));
    g.bench_function("strict_one_by_one/256", |b| {
        b.iter(|| {
            items
                .iter()
                .map(|(p, m, s)| verify_ed25519_strict(p, m, s))
                .collect::<Vec<_>>()
        })
    });
    g.bench_function("verify_ed25519_many/256", |b| {
        b.iter(|| verify_ed25519_many(&items))
    });
    g.finish();

    let list = s.status.lists().next().unwrap();
    c.bench_function("status/lookup_bit", |b| {
        let mut i = 0u64;
        b.iter(|| {
            i = (i + 7919) % 131_072;
            list.bits.get(i)
        })
    });
    let encoded = cellproof_core::encode_list(Bitstring::zeroed(131_072).bytes());
    c.bench_function("status/decode_encoded_list_131072", |b| {
        b.iter(|| decode_encoded_list(&encoded))
    });
    c.bench_function("status/verify_and_store_three_lists", |b| {
        b.iter(|| {
            let mut st = StatusStore::new();
            for raw in &s.status_raw {
                st.insert(raw, &s.trust).unwrap();
            }
            st
        })
    });
    c.bench_function("trust/verify_two_lists_with_recognition", |b| {
        let w = World::new("bench", "https://registry.example", T0);
        b.iter(|| {
            let mut t = TrustStore::new();
            t.pin_root("ouranos", &w.ouranos_root.public());
            t.insert_all(s.lists.iter().map(String::as_str))
        })
    });
}

/// A label with its passport (versions 1 and 2) and four attestations, as the demo's ACME
/// battery: SPEC.md sections 3.1 and 3.3.
fn passport_bench(c: &mut Criterion) {
    use cellproof_world::{Listed, YEAR};
    const URL: &str = "https://id.cells.acme.example/01/04012345000016/21/SN2026A000123";
    let w = World::new("bench", "https://registry.example", T0);
    let mut trust = TrustStore::new();
    trust.pin_root("catena-x", &w.catena_root.public());
    for r in trust.insert_all([
        w.sign_trust_list(&w.trust_list("catena-x")).as_str(),
        w.sign_trust_list(&w.trust_list("ouranos")).as_str(),
    ]) {
        r.unwrap();
    }
    let mut status = StatusStore::new();
    for p in Purpose::ALL {
        status
            .insert(
                &w.status_list(&w.acme, "3", p, &[], T0, T0 + 7 * DAY),
                &trust,
            )
            .unwrap();
    }
    let valid = (T0 - YEAR, T0 + YEAR);
    let att = |issuer, subject: &str, topic: &str, m: &[&str]| Listed {
        topic: topic.into(),
        materials: m.iter().map(|x| (*x).to_owned()).collect(),
        subject: subject.into(),
        jws: w.attestation(issuer, subject, topic, m, valid),
    };
    let list = vec![
        att(
            &w.certifier,
            "did:web:refinery.kobalt.example",
            "sourcing.due-diligence",
            &["Co"],
        ),
        att(
            &w.jqa,
            "did:web:lithium.sanriku.example",
            "sourcing.due-diligence",
            &["Li"],
        ),
        att(&w.certifier, URL, "emissions.carbon-footprint", &[]),
        att(
            &w.certifier,
            "urn:gtin:04012345000016",
            "content.recycled",
            &["Co", "Li", "Ni"],
        ),
    ];
    let v1 = w.sign_vc(
        &w.acme,
        &w.passport(&w.acme, URL, 1, None, &list, T0 - 40 * DAY),
    );
    let v2 = w.sign_vc(
        &w.acme,
        &w.passport(&w.acme, URL, 2, Some(&v1), &list, T0 - 10 * DAY),
    );
    let mut claims = w.reference_claims();
    if let Some(serde_json::Value::Object(bp)) = claims.get_mut("bp") {
        bp.insert("dig".into(), cellproof_core::passport_digest(&v1).into());
    }
    let label = w.issue(&w.acme, &claims, T0 - 30 * DAY).unwrap().url();
    let chain = cellproof_core::PassportChain {
        events: Vec::new(),
        predecessors: Default::default(),
        versions: vec![v1, v2],
        attestations: list
            .iter()
            .map(|l| (cellproof_core::sha256_b64(l.jws.as_bytes()), l.jws.clone()))
            .collect(),
    };
    let mut ctx = Context::new(&trust, &status, UnixTime(T0 + DAY));
    ctx.chain = Some(&chain);
    let v = verify(&label, &ctx);
    assert_eq!(v.code, None);
    assert_eq!(
        v.attestations
            .iter()
            .filter(|a| a.outcome == cellproof_core::AttestationOutcome::Verified)
            .count(),
        4
    );
    c.bench_function("verify/label_passport_v2_four_attestations", |b| {
        b.iter(|| verify(&label, &ctx))
    });
}

criterion_group!(core, benches, passport_bench);
criterion_main!(core);
