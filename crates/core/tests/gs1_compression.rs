//! Compressed GS1 Digital Links (SPEC.md 1.2 section 2.1, item 4): GS1's own examples
//! decompress to the uncompressed links GS1's toolkit gives, a compressed Cellproof label
//! verifies and binds as the uncompressed one does, and every malformed bit stream an attacker
//! can write is refused with a stable code, never a panic.
//!
//! Vectors: the compressed links below come from GS1's GS1DigitalLinkCompressionPrototype
//! (github.com/gs1/GS1DigitalLinkCompressionPrototype at 21a894b, `src/GS1DigitalLinkToolkit.js`,
//! Apache License 2.0, copyright GS1 AISBL): two from its source and README, the rest made with
//! its `compressGS1DigitalLink` and `gs1ElementStringsToCompressedGS1DigitalLink` from the
//! uncompressed links named beside them; `https://dlnkd.tn.gg/ARHKVAdpQg` is from Trust Codes'
//! gs1-compression (github.com/TrustCodes/gs1-compression, `tests/test_central_functions.py`,
//! Apache License 2.0). The expected links are the toolkit's `decompressGS1DigitalLink` output
//! except where noted (our percent-encoding is Cellproof's canonical one, SPEC.md section 2).

use cellproof_core::{
    decompress_path, verify, Context, Label, LabelForm, StatusStore, TrustStore, UnixTime,
    VerdictJson, MAX_COMPRESSED,
};

/// (compressed URL, the uncompressed path and query it decompresses to).
const GS1_VECTORS: &[(&str, &str)] = &[
    // Trust Codes' test: a GTIN alone.
    ("https://dlnkd.tn.gg/ARHKVAdpQg", "/01/09780345418913"),
    // The toolkit's own example (a comment in extractFromCompressedGS1digitalLink): GTIN, lot
    // "ABC&+123" in 7-bit ASCII, AI 7003, and two foreign key=value pairs compressed too. The
    // toolkit prints the foreign values as "undefined1903061658" and "undefinedv1" (a string
    // appended to an unset key), Trust Codes' port as below.
    (
        "http://example.org/AQnYUc1gmiERBhQ0ytiyZuAGOLc1TXhXsaXbQKHFuaprwUmrBX6g",
        "/01/05412345000013/10/ABC%26+123?7003=1903061658&expdt=1903061658&k1=v1",
    ),
    // The same without the compressed foreign pairs, which stay in the query.
    (
        "http://example.org/AQnYUc1gmiERBhQ0ytiyZuAGOLc1TQ?expdt=1903061658&k1=v1",
        "/01/05412345000013/10/ABC%26+123?7003=1903061658&expdt=1903061658&k1=v1",
    ),
    // /01/04012345000016/21/SN2026A000123 with the optimisation 0C (01 then 21), and without.
    (
        "https://id.example/DAdMZMwAoNqRu2m3QGmmmu24",
        "/01/04012345000016/21/SN2026A000123",
    ),
    (
        "https://id.example/AQdMZMwAoELakbtpt0Bppprtu",
        "/01/04012345000016/21/SN2026A000123",
    ),
    // Serial 000123, all digits: the toolkit decompresses it to "123" (it prints the number
    // without the leading zeros its length field counts); the serial is 000123.
    (
        "https://id.example/DAdMZMwAoAwAD2",
        "/01/04012345000016/21/000123",
    ),
    ("https://id.example/DAdMZMwAoAIg", "/01/04012345000016/21/1"),
    // Upper-case hex, 7-bit ASCII and base64url encodings of a serial.
    (
        "https://id.example/DAdMZMwAoI1XgkY",
        "/01/04012345000016/21/ABC123",
    ),
    (
        "https://id.example/DAdMZMwAoQkFDCVA",
        "/01/04012345000016/21/A!B*",
    ),
    (
        "https://id.example/DBFKk4XBoNTTbn367DOno",
        "/01/09506000134352/21/abc-_XYZ09",
    ),
    // Optimisation 1A (01, 10, 21, 17); 0A-style pairs with lower-case hex (lot ab12) and "/".
    (
        "https://id.example/GgdMZMwAoMhZyfbElqf43g",
        "/01/04012345000016/10/LOT7/21/S1?17=261231",
    ),
    (
        "https://id.example/CgdMZMwAoMSuogSVYkQwcFfC",
        "/01/04012345000016/22/V1/10/ab12/21/A%2FB",
    ),
    // Optimisation 1F (01, 10, 15) then 3103; and the same link without optimisations.
    (
        "https://id.example/HxFKk4XBoI1XgkZ_jeYgYAnE",
        "/01/09506000134352/10/ABC123?15=261231&3103=001250",
    ),
    (
        "https://id.example/ARFKk4XBoCCNV4JGKn-N5iBgCcQ",
        "/01/09506000134352/10/ABC123?15=261231&3103=001250",
    ),
    // Optimisation 2D (01, 3103) and a compressed foreign pair k1=v1.
    (
        "https://id.example/LQdMZMwAoACcRCxJa-Ck1YK_U",
        "/01/04012345000016/21/S1?3103=001250&k1=v1",
    ),
    // Partial compression, the GTIN uncompressed: (21)SN2026A000123(17)261231 and
    // (10)ABCDEF(21)1234; (21)S%2 after a GTIN-13, padded to 14 digits.
    (
        "https://id.example/01/04012345000016/Fz_G8hbUjdtNugNNNNdtw",
        "/01/04012345000016/21/SN2026A000123?17=261231",
    ),
    (
        "https://id.example/01/04012345000016/EEarze8hBBNI",
        "/01/04012345000016/10/ABCDEF/21/1234",
    ),
    (
        "https://id.example/01/5412345000013/IYOmlZA",
        "/01/05412345000013/21/S%252",
    ),
];

fn path_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/').map_or("", |i| &rest[i..])
}

fn code(input: &str) -> &'static str {
    Label::parse(input).err().map_or("ok", |e| e.code())
}

#[test]
fn gs1_examples_decompress_to_their_uncompressed_links() {
    for (compressed, want) in GS1_VECTORS {
        assert_eq!(
            decompress_path(path_of(compressed)).as_deref(),
            Ok(*want),
            "{compressed}"
        );
        // The label reads as the uncompressed link does, reporting form 4 and keeping the URL
        // scanned (a resolver is asked at the label's own URL, SPEC.md 2.2).
        let l = Label::parse(compressed).unwrap_or_else(|e| panic!("{compressed}: {e}"));
        let host = compressed.split('/').take(3).collect::<Vec<_>>().join("/");
        let plain = Label::parse(&format!("{host}{want}")).unwrap();
        assert_eq!(l.form, LabelForm::DigitalLinkCompressed, "{compressed}");
        assert_eq!(l.form.as_str(), "digital-link-compressed");
        assert_eq!(
            (l.identifier(), &l.attributes),
            (plain.identifier(), &plain.attributes),
            "{compressed}"
        );
        assert_eq!(l.url.as_deref(), compressed.split('#').next());
    }
    let l = Label::parse("http://example.org/AQnYUc1gmiERBhQ0ytiyZuAGOLc1TQ?k1=v1").unwrap();
    assert_eq!(l.lot.as_deref(), Some("ABC&+123"));
    assert_eq!(
        l.attributes.get("7003").map(String::as_str),
        Some("1903061658")
    );
    // A prefix before the compressed segment is kept, as in form 3.
    assert_eq!(
        decompress_path("/dpp/v1/ARHKVAdpQg").as_deref(),
        Ok("/dpp/v1/01/09780345418913")
    );
    // A Cellproof label path is no compressed link.
    assert_eq!(
        decompress_path("/01/04012345000016/21/S1").map_err(|e| e.code()),
        Err("digital_link_invalid")
    );
}

/// Writes compressed bit streams for the attacks below (the layout of GS1's
/// `compressGS1AIarrayToBinary`, with any field as the attacker likes).
#[derive(Default, Clone)]
struct Bits(Vec<bool>);

impl Bits {
    fn n(mut self, width: usize, v: u128) -> Self {
        self.0.extend((0..width).rev().map(|i| (v >> i) & 1 == 1));
        self
    }
    /// An AI or an optimisation code, one hex digit a nibble.
    fn code(self, hex: &str) -> Self {
        hex.chars()
            .fold(self, |b, c| b.n(4, u128::from(c.to_digit(16).unwrap())))
    }
    /// `digits` decimal digits holding `v` (the reference's ceil(n log2 10 + 0.01) bits).
    fn num(self, digits: usize, v: u128) -> Self {
        let bits = (digits as f64 * 10f64.log2() + 0.01).ceil() as usize;
        self.n(bits, v)
    }
    /// A variable-length alphanumeric value in 7-bit ASCII (encoding 4) with a 5-bit length
    /// (maximum 20: AIs 10, 21, 22).
    fn ascii20(self, s: &str) -> Self {
        s.bytes().fold(self.n(3, 4).n(5, s.len() as u128), |b, c| {
            b.n(7, u128::from(c))
        })
    }
    fn gtin(self, g: &str) -> Self {
        self.num(14, g.parse().unwrap())
    }
    /// Base64url, the last character padded with `pad` (zeros as the compressor writes).
    fn text_padded(&self, pad: u128) -> String {
        let mut bits = self.0.clone();
        let fill = (6 - bits.len() % 6) % 6;
        bits.extend((0..fill).rev().map(|i| (pad >> i) & 1 == 1));
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        bits.chunks(6)
            .map(|c| {
                let i = c.iter().fold(0, |a, &b| (a << 1) | usize::from(b));
                char::from(alphabet[i])
            })
            .collect()
    }
    fn text(&self) -> String {
        self.text_padded(0)
    }
}

fn item(gtin: &str, serial: &str) -> Bits {
    Bits::default().code("0C").gtin(gtin).ascii20(serial)
}

#[test]
fn the_test_writer_writes_what_gs1_writes() {
    // The writer agrees with GS1's compressor on one vector, so the attacks below are the
    // reference's format with one field changed.
    let b = Bits::default()
        .code("0C")
        .gtin("04012345000016")
        .n(3, 0)
        .n(5, 6)
        .num(6, 123);
    assert_eq!(b.text(), "DAdMZMwAoAwAD2");
    assert_eq!(
        decompress_path(&format!("/{}", item("04012345000016", "S 1").text()))
            .map_err(|e| e.code()),
        Err("serial_invalid")
    );
}

#[test]
fn malformed_bit_streams_are_refused() {
    let good = item("04012345000016", "SN1");
    let good_text = good.text();
    assert_eq!(
        decompress_path(&format!("/{good_text}")).as_deref(),
        Ok("/01/04012345000016/21/SN1")
    );
    let over = "x".repeat(MAX_COMPRESSED + 1);
    let cases: Vec<(String, &str, &str)> = vec![
        // Truncated: the stream ends inside the serial, or inside the GTIN.
        (
            good_text[..good_text.len() - 2].into(),
            "digital_link_invalid",
            "truncated serial",
        ),
        (
            good_text[..5].into(),
            "digital_link_invalid",
            "truncated GTIN",
        ),
        // A stream that ends inside its lot: GS1's prototype reads the missing bits as nothing
        // and prints /01/09506000134376/10/LOBUA.
        (
            "ARFKk4XB0CDKWcCo".into(),
            "digital_link_invalid",
            "lot past the end",
        ),
        // Padding bits that are not zero; a whole character of trailing zeros; trailing data
        // that starts another AI and ends in it.
        (
            item("04012345000016", "SN12").text_padded(1),
            "digital_link_invalid",
            "padding not zero",
        ),
        (
            format!("{good_text}A"),
            "digital_link_invalid",
            "a trailing zero character",
        ),
        (
            format!("{good_text}AAAA"),
            "digital_link_invalid",
            "trailing zeros read as AI 00",
        ),
        (
            format!("{good_text}_"),
            "digital_link_invalid",
            "trailing garbage",
        ),
        // A length field beyond the AI's maximum (31 > 20), and one beyond the data.
        (
            Bits::default()
                .code("0C")
                .gtin("04012345000016")
                .n(3, 4)
                .n(5, 31)
                .text(),
            "digital_link_invalid",
            "length above the AI's maximum",
        ),
        (
            Bits::default()
                .code("0C")
                .gtin("04012345000016")
                .n(3, 4)
                .n(5, 20)
                .n(7, 65)
                .text(),
            "digital_link_invalid",
            "length beyond the data",
        ),
        // An empty serial (length 0), and encodings 5-7 which GS1 does not define.
        (
            Bits::default()
                .code("0C")
                .gtin("04012345000016")
                .n(3, 4)
                .n(5, 0)
                .text(),
            "digital_link_invalid",
            "empty serial",
        ),
        (
            Bits::default()
                .code("0C")
                .gtin("04012345000016")
                .n(3, 5)
                .n(5, 1)
                .n(7, 65)
                .text(),
            "digital_link_invalid",
            "encoding 5",
        ),
        // A GTIN with a bad check digit once decompressed; a GTIN number of 15 digits in the
        // 47 bits of 14 (the reference would print it whole).
        (
            item("04012345000017", "SN1").text(),
            "gtin_invalid",
            "check digit",
        ),
        (
            Bits::default()
                .code("0C")
                .num(14, 100_000_000_000_000)
                .ascii20("S")
                .text(),
            "digital_link_invalid",
            "a number above its digits",
        ),
        // Characters outside base64url: standard base64, padding, a percent-encoded character.
        (
            format!("{}+", &good_text[..good_text.len() - 1]),
            "digital_link_invalid",
            "+",
        ),
        (
            format!("{good_text}=="),
            "digital_link_invalid",
            "base64 padding",
        ),
        (
            format!("%41{}", &good_text[1..]),
            "digital_link_invalid",
            "percent-encoded",
        ),
        // AIs that do not start with 01, with no 01 at all, or with two.
        (
            Bits::default().code("21").ascii20("SN1").text(),
            "digital_link_invalid",
            "no 01",
        ),
        (
            Bits::default()
                .code("17")
                .num(6, 261_231)
                .code("0C")
                .gtin("04012345000016")
                .ascii20("S")
                .text(),
            "digital_link_invalid",
            "01 not first",
        ),
        (
            item("04012345000016", "SN1")
                .code("01")
                .gtin("04589012000014")
                .text(),
            "digital_link_invalid",
            "two 01s",
        ),
        (
            item("04012345000016", "SN1")
                .code("21")
                .ascii20("SN2")
                .text(),
            "digital_link_invalid",
            "two serials",
        ),
        // Serials outside GS1 set 82 once decompressed: a space, a tilde, a control character
        // (7-bit ASCII carries all three).
        (
            item("04012345000016", "S 1").text(),
            "serial_invalid",
            "space",
        ),
        (
            item("04012345000016", "S~1").text(),
            "serial_invalid",
            "tilde",
        ),
        (
            item("04012345000016", "S\u{1b}[2J").text(),
            "serial_invalid",
            "escape",
        ),
        // A foreign key spelled in digits would become an AI in the uncompressed link; a
        // foreign value with a control character.
        (
            good.clone()
                .code("F")
                .n(7, 2)
                .n(6, 53)
                .n(6, 52)
                .n(3, 4)
                .n(7, 1)
                .n(7, 88)
                .text(),
            "digital_link_invalid",
            "foreign key 10",
        ),
        (
            good.clone()
                .code("F")
                .n(7, 1)
                .n(6, 10)
                .n(3, 4)
                .n(7, 1)
                .n(7, 10)
                .text(),
            "digital_link_invalid",
            "foreign value with a newline",
        ),
        // An AI of the reserved range, one the compression table does not define, and a
        // code no optimisation names.
        (
            Bits::default().code("05").n(20, 0).text(),
            "digital_link_invalid",
            "AI 05",
        ),
        (
            good.clone().code("7040").n(4, 1).text(),
            "digital_link_invalid",
            "AI 7040",
        ),
        (
            good.clone().code("E7").n(20, 0).text(),
            "digital_link_invalid",
            "code E7",
        ),
        // Longer than the bound: refused before any bit is read.
        (over, "input_too_large", "too long"),
    ];
    for (segment, want, why) in &cases {
        let path = format!("/{segment}");
        assert_eq!(
            decompress_path(&path).map_err(|e| e.code()).err(),
            Some(*want),
            "{why}: {segment}"
        );
        assert_eq!(code(&format!("https://h{path}")), *want, "{why}: {segment}");
    }
    // Partial compression: the segment after /01/{gtin}/ may not hold a second 01 and follows
    // the same rules.
    let partial = |seg: &str| code(&format!("https://h/01/04012345000016/{seg}"));
    assert_eq!(
        partial(&Bits::default().code("01").gtin("04589012000014").text()),
        "digital_link_invalid"
    );
    assert_eq!(
        partial(&Bits::default().code("21").ascii20("S~").text()),
        "serial_invalid"
    );
    assert_eq!(
        partial(&Bits::default().code("21").ascii20("S1").text()),
        "ok"
    );
    assert_eq!(
        code(&format!(
            "https://h/01/04012345000017/{}",
            Bits::default().code("21").ascii20("S1").text()
        )),
        "gtin_invalid"
    );
    // A 10 KB segment: over the scan limit as a label, over the segment limit as a path.
    let huge = "A".repeat(10 * 1024);
    assert_eq!(code(&format!("https://h/{huge}")), "input_too_large");
    assert_eq!(
        decompress_path(&format!("/{huge}")).map_err(|e| e.code()),
        Err("input_too_large")
    );
}

#[test]
fn a_compressed_cellproof_label_verifies_and_binds_as_the_uncompressed_one() {
    let t0 = 1_800_000_000;
    let w = cellproof_world::World::new("gs1-compression", "https://registry.example", t0);
    let mut trust = TrustStore::new();
    trust.pin_root("catena-x", &w.catena_root.public());
    trust
        .insert(&w.sign_trust_list(&w.trust_list("catena-x")))
        .unwrap();
    let status = StatusStore::new();
    let ctx = Context::new(&trust, &status, UnixTime(t0 + 60));
    let claims = w.sample_claims(&w.acme, "SNCOMP0001", None, "https://id.acme.example");
    let issued = w.issue(&w.acme, &claims, t0).unwrap();
    let plain = verify(&issued.url(), &ctx);
    assert_eq!(
        (plain.code, plain.overall),
        (None, cellproof_core::Overall::Valid)
    );
    let gtin = cellproof_core::gtin_with_check_digit("0401234500001").unwrap();
    let label = |serial: &str| {
        format!(
            "https://id.acme.example/{}#{}",
            item(&gtin, serial).text(),
            issued.fragment
        )
    };
    let v = verify(&label("SNCOMP0001"), &ctx);
    let j = VerdictJson::from(&v);
    assert_eq!((j.overall, j.code), ("valid", None));
    let l = j.label.expect("label");
    assert_eq!(
        (l.form, l.identifier.as_deref()),
        (
            "digital-link-compressed",
            Some(&*format!("01/{gtin}/21/SNCOMP0001"))
        )
    );
    // The same credential behind a compressed link naming another battery: the binding fails
    // as it does for the uncompressed link.
    let other = verify(&label("SNCOMP0002"), &ctx);
    let uncompressed = verify(&issued.url().replace("SNCOMP0001#", "SNCOMP0002#"), &ctx);
    assert_eq!(other.code, Some("sub_mismatch"));
    assert_eq!(
        (other.code, other.overall),
        (uncompressed.code, uncompressed.overall)
    );
    // No credential: unverifiable, naming the decompressed item.
    let j = VerdictJson::from(&verify(
        &format!(
            "https://id.acme.example/{}#chapter1",
            item(&gtin, "S1").text()
        ),
        &ctx,
    ));
    assert_eq!(
        (j.overall, j.code),
        ("unverifiable", Some("no_embedded_credential"))
    );
}

/// A small deterministic generator (xorshift64*), so the property loop is reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn random_and_mutated_segments_never_panic() {
    // Codes a compressed path may produce; anything else (or a panic) fails.
    let allowed = [
        "ok",
        "digital_link_invalid",
        "gtin_invalid",
        "serial_invalid",
        "input_too_large",
    ];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let seeds: Vec<String> = GS1_VECTORS
        .iter()
        .map(|(u, _)| {
            path_of(u)
                .rsplit('/')
                .next()
                .unwrap()
                .split('?')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut decoded = 0;
    for round in 0..20_000 {
        let seg: String = if round % 2 == 0 {
            // Random base64url of 0-120 characters.
            (0..rng.below(121))
                .map(|_| char::from(alphabet[rng.below(64)]))
                .collect()
        } else {
            // A GS1 vector with characters replaced, dropped or appended.
            let mut s = seeds[rng.below(seeds.len())].clone().into_bytes();
            for _ in 0..1 + rng.below(3) {
                match rng.below(3) {
                    0 if !s.is_empty() => {
                        let i = rng.below(s.len());
                        s[i] = alphabet[rng.below(64)];
                    }
                    1 if !s.is_empty() => {
                        s.truncate(rng.below(s.len()));
                    }
                    _ => s.push(alphabet[rng.below(64)]),
                }
            }
            String::from_utf8(s).unwrap()
        };
        for input in [
            format!("https://h/{seg}"),
            format!("https://h/01/04012345000016/{seg}#123"),
        ] {
            let c = code(&input);
            assert!(allowed.contains(&c), "{input}: {c}");
            if c == "ok" {
                decoded += 1;
                let l = Label::parse(&input).unwrap();
                assert_eq!(l.form, LabelForm::DigitalLinkCompressed);
                // Whatever decoded names a checked GTIN and set-82 qualifiers.
                let again = Label::parse(&format!("https://h/{}", l.identifier().unwrap()));
                assert!(again.is_ok(), "{input}");
            }
        }
        let _ = decompress_path(&format!("/{seg}"));
    }
    // The loop reached the decoder's accepting paths, not only its first refusal.
    assert!(decoded > 100, "{decoded}");
}
