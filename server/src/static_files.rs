//! The scanner page's static files (`web/`), with the precompressed copies `cargo xtask web`
//! writes (`F.br`, `F.gz` beside `F`) chosen by `Accept-Encoding`, so a phone on a slow link
//! gets the brotli wasm (docs/web.md, "Weight") and the server spends no CPU compressing it.
//!
//! Every answer carries the original file's `Content-Type` (`application/wasm` for the
//! modules, which streaming compilation requires), `Vary: Accept-Encoding`, a strong `ETag` of
//! the bytes actually sent (each encoding is its own file, so its own tag) and `Cache-Control:
//! no-cache`: file names carry no content hash, so a browser revalidates and gets `304`, and
//! the service worker keeps the offline copy. A copy older than its original (the page edited
//! after the last `cargo xtask web`) is never sent; the original is, compressed on the fly by
//! the `Compress` middleware.

use std::path::{Path, PathBuf};

use actix_files::NamedFile;
use actix_web::http::header::{self, ContentEncoding, HeaderValue};
use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::problem::Problem;

/// The default service of the app: `GET`/`HEAD` of a file under `web_dir`, `/` being
/// `index.html`; a problem+json 404 for anything else.
pub(crate) fn route(web_dir: PathBuf) -> actix_web::Route {
    web::to(move |req: HttpRequest| {
        let dir = web_dir.clone();
        async move { serve(req, dir).await }
    })
}

/// A compressed GS1 Digital Link (SPEC.md 2.1 form 4, 6.2 "GS1-Conformant Resolver"): no file
/// has such a path, so it is decompressed with the core's `decompress_path` and answered with a
/// `307` to the uncompressed Digital Link (query kept; the browser keeps the fragment, so an
/// embedded credential survives) and `Link: <{uncompressed}>; rel="owl:sameAs"`. Anything that
/// does not decompress stays a 404; a decompressed link that is not a valid header value (it
/// never is: values come back percent-encoded) too.
fn compressed_link(req: &HttpRequest) -> Option<HttpResponse> {
    let uri = req.uri();
    let path_query = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str());
    let uncompressed = cellproof_core::decompress_path(path_query).ok()?;
    if !uncompressed.starts_with('/') || uncompressed.starts_with("//") {
        return None;
    }
    let location = HeaderValue::from_str(&uncompressed).ok()?;
    let link = HeaderValue::from_str(&format!("<{uncompressed}>; rel=\"owl:sameAs\"")).ok()?;
    let mut res = HttpResponse::TemporaryRedirect()
        .insert_header((header::LOCATION, location))
        .insert_header((header::LINK, link))
        .finish();
    // A public read like the resolver's own answers (cors.rs), though its path is no prefix.
    crate::cors::add(res.headers_mut());
    Some(res)
}

async fn serve(req: HttpRequest, dir: PathBuf) -> HttpResponse {
    let not_found = || Problem::not_found(format!("no file at {}", req.path())).response();
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return not_found();
    }
    let Some(file) = resolve(&dir, req.path()) else {
        return compressed_link(&req).unwrap_or_else(not_found);
    };
    let accept = req
        .headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let chosen = web::block(move || choose(&file, &accept)).await;
    let Ok(Some((original, sent, encoding))) = chosen else {
        return compressed_link(&req).unwrap_or_else(not_found);
    };
    let Ok(named) = NamedFile::open_async(&sent).await else {
        return not_found();
    };
    let ext = original.extension().and_then(|e| e.to_str()).unwrap_or("");
    let mut named = named
        .set_content_type(actix_files::file_extension_to_mime(ext))
        .disable_content_disposition();
    if let Some(enc) = encoding {
        named = named.set_content_encoding(enc);
    }
    let mut res = named.into_response(&req);
    let headers = res.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    res
}

/// The file a request path names under `dir`, or `None`: only plain segments (no `..`, no
/// hidden files, no percent-encoding, no backslashes), `/` is `index.html`, directories are
/// not listed.
fn resolve(dir: &Path, path: &str) -> Option<PathBuf> {
    let rel = path.strip_prefix('/')?;
    let rel = if rel.is_empty() { "index.html" } else { rel };
    let ok = rel
        .split('/')
        .all(|seg| !seg.is_empty() && !seg.starts_with('.') && !seg.contains(['%', '\\', '\0']));
    ok.then(|| dir.join(rel))
}

/// `(original, file to send, its encoding)`: brotli, then gzip, when the client accepts it
/// and a copy at least as new as the original exists; else the original. `None` when the
/// original is not a regular file.
fn choose(file: &Path, accept: &str) -> Option<(PathBuf, PathBuf, Option<ContentEncoding>)> {
    let meta = std::fs::metadata(file).ok().filter(|m| m.is_file())?;
    let modified = meta.modified().ok();
    for (suffix, token, enc) in [
        ("br", "br", ContentEncoding::Brotli),
        ("gz", "gzip", ContentEncoding::Gzip),
    ] {
        if !accepts(accept, token) {
            continue;
        }
        let mut name = file.as_os_str().to_owned();
        name.push(".");
        name.push(suffix);
        let copy = PathBuf::from(name);
        let fresh = std::fs::metadata(&copy)
            .ok()
            .filter(|m| m.is_file())
            .and_then(|m| m.modified().ok())
            .zip(modified)
            .is_some_and(|(c, o)| c >= o);
        if fresh {
            return Some((file.to_owned(), copy, Some(enc)));
        }
    }
    Some((file.to_owned(), file.to_owned(), None))
}

/// Whether an `Accept-Encoding` value accepts `token` (RFC 9110 section 12.5.3: listed, or
/// `*`, with a non-zero `q`).
fn accepts(accept: &str, token: &str) -> bool {
    let mut star = false;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim();
        let zero = parts.any(|p| {
            let p = p.trim();
            p.strip_prefix("q=")
                .or_else(|| p.strip_prefix("Q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        if name.eq_ignore_ascii_case(token) {
            return !zero;
        }
        if name == "*" {
            star = !zero;
        }
    }
    star
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_encoding_honours_q_zero_and_star() {
        assert!(accepts("gzip, deflate, br, zstd", "br"));
        assert!(accepts("gzip;q=1.0, br;q=0.5", "br"));
        assert!(!accepts("gzip, br;q=0", "br"));
        assert!(!accepts("br;q=0.000", "br"));
        assert!(accepts("*", "gzip"));
        assert!(!accepts("*;q=0", "gzip"));
        assert!(!accepts("*, gzip;q=0", "gzip"));
        assert!(!accepts("", "gzip"));
        assert!(!accepts("gzipx", "gzip"));
    }

    #[test]
    fn paths_outside_the_page_or_hidden_are_refused() {
        let d = Path::new("/srv/web");
        assert_eq!(resolve(d, "/"), Some(d.join("index.html")));
        assert_eq!(resolve(d, "/pkg/a.wasm"), Some(d.join("pkg/a.wasm")));
        for bad in [
            "/../etc/passwd",
            "/pkg/../../x",
            "/.git/config",
            "/a//b",
            "/%2e%2e/x",
        ] {
            assert_eq!(resolve(d, bad), None, "{bad}");
        }
        assert_eq!(resolve(d, "/a\\..\\b"), None);
        assert_eq!(resolve(d, "relative"), None);
    }
}
