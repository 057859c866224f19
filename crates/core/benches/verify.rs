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

criterion_group!(core, benches);
criterion_main!(core);
