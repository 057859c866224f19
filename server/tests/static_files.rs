//! The page's static files over HTTP from the real server: precompressed copies chosen by
//! `Accept-Encoding`, the right `Content-Type` (`application/wasm` for streaming compilation),
//! `Vary`, `ETag` revalidation, stale copies never served, nothing outside `web/`.

mod common;

use std::io::Write as _;
use std::time::{Duration, SystemTime};

use common::spawn_app;
use reqwest::header;

const WASM: &[u8] = b"\0asm\x01\0\0\0 the verifier module, for the test";

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// Writes `web/pkg/m_bg.wasm` and its `.gz` / `.br` copies (the brotli bytes are a marker: the
/// server never decodes them, it only chooses which file to send).
fn write_module(web: &std::path::Path) {
    std::fs::create_dir_all(web.join("pkg")).unwrap();
    std::fs::write(web.join("pkg/m_bg.wasm"), WASM).unwrap();
    std::fs::write(web.join("pkg/m_bg.wasm.gz"), gzip(WASM)).unwrap();
    std::fs::write(web.join("pkg/m_bg.wasm.br"), b"brotli bytes").unwrap();
}

async fn get(app: &common::TestApp, path: &str, accept: &str) -> reqwest::Response {
    app.client
        .get(format!("{}{path}", app.address))
        .header(header::ACCEPT_ENCODING, accept)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn wasm_is_served_precompressed_by_negotiation_with_its_media_type() {
    let app = spawn_app().await;
    write_module(app.web.path());
    let br = get(&app, "/pkg/m_bg.wasm", "gzip, deflate, br").await;
    assert_eq!(br.status(), 200);
    let h = br.headers().clone();
    assert_eq!(h[header::CONTENT_TYPE], "application/wasm");
    assert_eq!(h[header::CONTENT_ENCODING], "br");
    assert_eq!(h[header::VARY], "accept-encoding");
    assert_eq!(h[header::CACHE_CONTROL], "no-cache");
    let br_tag = h[header::ETAG].to_str().unwrap().to_owned();
    assert_eq!(br.bytes().await.unwrap().as_ref(), b"brotli bytes");

    let gz = get(&app, "/pkg/m_bg.wasm", "gzip").await;
    assert_eq!(gz.headers()[header::CONTENT_ENCODING], "gzip");
    assert_eq!(gz.headers()[header::CONTENT_TYPE], "application/wasm");
    // Each representation has its own strong validator.
    assert_ne!(gz.headers()[header::ETAG].to_str().unwrap(), br_tag);
    let body = gz.bytes().await.unwrap();
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&body[..]), &mut plain).unwrap();
    assert_eq!(plain, WASM);

    // No Accept-Encoding (or br refused with q=0 and gzip not offered): the file as it is.
    let id = get(&app, "/pkg/m_bg.wasm", "identity").await;
    assert!(id.headers().get(header::CONTENT_ENCODING).is_none());
    assert_eq!(id.bytes().await.unwrap().as_ref(), WASM);
    let refused = get(&app, "/pkg/m_bg.wasm", "br;q=0").await;
    assert!(refused.headers().get(header::CONTENT_ENCODING).is_none());
}

#[tokio::test]
async fn etag_revalidation_answers_not_modified() {
    let app = spawn_app().await;
    write_module(app.web.path());
    let first = get(&app, "/pkg/m_bg.wasm", "br").await;
    let tag = first.headers()[header::ETAG].clone();
    let again = app
        .client
        .get(format!("{}/pkg/m_bg.wasm", app.address))
        .header(header::ACCEPT_ENCODING, "br")
        .header(header::IF_NONE_MATCH, tag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
}

#[tokio::test]
async fn a_copy_older_than_its_original_is_never_served() {
    // Editing app.js after the last `cargo xtask web` must not serve yesterday's app.js.gz.
    let app = spawn_app().await;
    write_module(app.web.path());
    let original = std::fs::File::options()
        .write(true)
        .open(app.web.path().join("pkg/m_bg.wasm"))
        .unwrap();
    original
        .set_modified(SystemTime::now() + Duration::from_secs(60))
        .unwrap();
    let res = get(&app, "/pkg/m_bg.wasm", "br").await;
    assert_ne!(
        res.headers()
            .get(header::CONTENT_ENCODING)
            .map(|v| v.to_str().unwrap()),
        Some("br")
    );
    let body = res.bytes().await.unwrap();
    assert_ne!(body.as_ref(), b"brotli bytes");
}

#[tokio::test]
async fn page_files_have_their_media_types_and_nothing_outside_web_is_served() {
    let app = spawn_app().await;
    let index = get(&app, "/", "identity").await;
    assert_eq!(index.status(), 200);
    assert!(index.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let js = get(&app, "/app.js", "identity").await;
    assert!(js.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .contains("javascript"));
    std::fs::write(app.web.path().join(".secret"), "no").unwrap();
    for path in ["/.secret", "/%2e%2e/Cargo.toml", "/pkg/", "/nothing.js"] {
        let res = get(&app, path, "gzip").await;
        assert_eq!(res.status(), 404, "{path}");
    }
    let post = app
        .client
        .post(format!("{}/app.js", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 404);
}
