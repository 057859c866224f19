//! The HTTP of online resolution (SPEC.md section 2.2): one GET under the spec's limits. The
//! core decides where to ask and what an answer means (`cellproof_core::resolve`); this file
//! only moves bytes, and refuses every hop, body or wait the spec does not allow.
//!
//! Limits (`resolution_limit` when broken): https on every hop, http only to loopback
//! (127.0.0.0/8, ::1, `localhost`) and only with `--insecure-loopback`; at most 5 redirects,
//! each hop checked before it is followed; no URL credentials, no cookie store (reqwest is
//! built without one); the fragment is never sent; a body is read incrementally up to its cap
//! (256 KiB, a chain 4 MiB, a DID document 64 KiB) and refused past it, never buffered whole first. Time: 10 s a
//! request, 30 s for the whole resolution. A network, TLS or timeout failure, or a non-2xx
//! answer other than 404, is `resolver_unreachable`; 404 is `passport_not_linked`.

use std::io::Read as _;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use cellproof_core::resolve::{self, MAX_REDIRECTS};
use reqwest::Url;

/// The stable codes of SPEC.md section 8 this file reports.
pub const UNREACHABLE: &str = "resolver_unreachable";
/// See [`UNREACHABLE`].
pub const LIMIT: &str = "resolution_limit";
/// See [`UNREACHABLE`].
pub const NOT_LINKED: &str = "passport_not_linked";

/// Largest body of a linkset or a passport (the core's limit, SPEC.md section 2.2).
pub const MAX_BODY: u64 = resolve::MAX_BODY as u64;
/// Largest body of a passport chain (`{"versions", "attestations"}`).
pub const MAX_CHAIN_BODY: u64 = resolve::MAX_CHAIN as u64;
/// Largest DID document (SPEC.md section 2.2).
pub const MAX_DID_DOCUMENT: u64 = cellproof_core::MAX_DID_DOCUMENT as u64;
/// Longest wait for one request, from connecting to the body's last byte.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(resolve::REQUEST_SECS);
/// Longest a whole resolution may take, however many requests it makes.
pub const OVERALL_TIMEOUT: Duration = Duration::from_secs(resolve::TOTAL_SECS);

/// Hidden environment variable: the request timeout in milliseconds instead of 10 s (only
/// ever shorter), so the tests of a resolver that never answers run in a second. The whole
/// resolution's deadline stays three times the request timeout.
pub const TIMEOUT_ENV: &str = "CELLPROOF_RESOLVE_TIMEOUT_MS";

/// What is fetched: it fixes the `Accept` header and the body cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Want {
    /// An RFC 9264 linkset (`?linkType=linkset`).
    Linkset,
    /// A passport credential (compact JWS or an enveloped VC).
    Passport,
    /// A passport chain as the registry serves it.
    Chain,
    /// A `did:web` issuer's DID document (only while resolving, SPEC.md section 2.2).
    DidDocument,
}

impl Want {
    fn accept(self) -> &'static str {
        match self {
            Want::Linkset => "application/linkset+json",
            Want::Passport => "application/vc+jwt, application/vc+ld+json",
            Want::Chain => "application/json",
            Want::DidDocument => "application/did+json, application/json",
        }
    }

    fn cap(self) -> u64 {
        match self {
            Want::Linkset | Want::Passport => MAX_BODY,
            Want::Chain => MAX_CHAIN_BODY,
            Want::DidDocument => MAX_DID_DOCUMENT,
        }
    }

    /// The word for it in "asked ..." lines.
    pub fn name(self) -> &'static str {
        match self {
            Want::Linkset => "linkset",
            Want::Passport => "passport",
            Want::Chain => "chain",
            Want::DidDocument => "DID document",
        }
    }
}

/// A request that brought no usable body: the URL asked, a stable code, a sentence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The URL asked (without its fragment), when there was one.
    pub url: Option<String>,
    /// [`UNREACHABLE`], [`LIMIT`] or [`NOT_LINKED`].
    pub code: &'static str,
    /// What happened, for people (it may quote what a server sent: escape before printing).
    pub detail: String,
}

/// A body as received, with the URL that answered (after redirects: relative links in it are
/// resolved against this one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Got {
    /// The final URL.
    pub url: String,
    /// The body, as UTF-8 (invalid sequences replaced: the core refuses what is not its format).
    pub body: String,
}

/// The redirect policy's refusal, found again in the error's source chain.
#[derive(Debug)]
struct LimitHit(String);

impl std::fmt::Display for LimitHit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LimitHit {}

/// Whether a URL may be asked: https, or http to loopback when the user allowed it; no
/// user name or password in it. Returns the reason when not.
pub fn hop_allowed(url: &Url, insecure_loopback: bool) -> Result<(), String> {
    if !url.username().is_empty() || url.password().is_some() {
        return Err("a URL with credentials in it is never asked".into());
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if insecure_loopback && is_loopback(url) => Ok(()),
        "http" if insecure_loopback => Err(format!(
            "http to {} is not loopback: only https is asked (--insecure-loopback allows http \
             to 127.0.0.1, ::1 and localhost only)",
            url.host_str().unwrap_or_default()
        )),
        "http" => Err(
            "http is not asked: only https (--insecure-loopback allows http to \
                       127.0.0.1, ::1 and localhost, for tests and demos)"
                .into(),
        ),
        other => Err(format!("the scheme {other}: is not asked, only https")),
    }
}

fn is_loopback(url: &Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    // An IPv6 host is written in brackets; the URL parser has normalised both IP forms.
    let ip = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || ip.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// One resolution's HTTP client and its clock: every [`Fetcher::get`] shares the overall
/// deadline.
pub struct Fetcher {
    client: reqwest::blocking::Client,
    insecure_loopback: bool,
    request_timeout: Duration,
    overall: Duration,
    deadline: Instant,
}

impl Fetcher {
    /// A client for one resolution, its deadline starting now.
    pub fn new(insecure_loopback: bool) -> Result<Fetcher> {
        let request_timeout = std::env::var(TIMEOUT_ENV)
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .map(Duration::from_millis)
            .filter(|d| *d < REQUEST_TIMEOUT)
            .unwrap_or(REQUEST_TIMEOUT);
        let overall = if request_timeout < REQUEST_TIMEOUT {
            request_timeout.saturating_mul(3)
        } else {
            OVERALL_TIMEOUT
        };
        Fetcher::with_timeouts(insecure_loopback, request_timeout, overall)
    }

    fn with_timeouts(
        insecure_loopback: bool,
        request_timeout: Duration,
        overall: Duration,
    ) -> Result<Fetcher> {
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            // `previous` holds every URL asked before this hop, the first request's included:
            // its length is the number of this redirect.
            if attempt.previous().len() > MAX_REDIRECTS {
                let e = LimitHit(format!("more than {MAX_REDIRECTS} redirects"));
                return attempt.error(e);
            }
            match hop_allowed(attempt.url(), insecure_loopback) {
                Ok(()) => attempt.follow(),
                Err(why) => {
                    let e = LimitHit(format!("a redirect to {}: {why}", attempt.url()));
                    attempt.error(e)
                }
            }
        });
        let client = reqwest::blocking::Client::builder()
            .redirect(policy)
            .timeout(request_timeout)
            .connect_timeout(request_timeout)
            // A resolver learns which battery was scanned: it learns nothing else about us.
            .referer(false)
            .build()
            .context("building the HTTP client")?;
        Ok(Fetcher {
            client,
            insecure_loopback,
            request_timeout,
            overall,
            deadline: Instant::now() + overall,
        })
    }

    /// GETs `url` (its fragment dropped) for `want`, under every limit.
    pub fn get(&self, url: &str, want: Want) -> Result<Got, Failure> {
        let fail = |url: Option<&str>, code, detail: String| Failure {
            url: url.map(str::to_owned),
            code,
            detail,
        };
        let mut parsed = Url::parse(url).map_err(|e| {
            fail(
                Some(url),
                UNREACHABLE,
                format!("not a URL that can be asked: {e}"),
            )
        })?;
        // SPEC.md section 2.2: the fragment (an embedded credential) never leaves the device.
        parsed.set_fragment(None);
        let shown = parsed.to_string();
        if let Err(why) = hop_allowed(&parsed, self.insecure_loopback) {
            return Err(fail(Some(&shown), LIMIT, why));
        }
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(fail(
                Some(&shown),
                LIMIT,
                format!(
                    "the resolution took longer than its {:?} in all",
                    self.overall
                ),
            ));
        }
        let response = self
            .client
            .get(parsed)
            .header(reqwest::header::ACCEPT, want.accept())
            .timeout(left.min(self.request_timeout))
            .send()
            .map_err(|e| match limit_hit(&e) {
                Some(why) => fail(Some(&shown), LIMIT, why),
                None => fail(Some(&shown), UNREACHABLE, describe(&e)),
            })?;
        let status = response.status();
        let answered = response.url().to_string();
        if status == reqwest::StatusCode::NOT_FOUND {
            // A DID document that is not there is the DID's failure, not the item's.
            let (code, why) = match want {
                Want::DidDocument => ("did_unresolvable", "404: no DID document at this URL"),
                _ => (NOT_LINKED, "404: the resolver knows no such item"),
            };
            return Err(fail(Some(&answered), code, why.into()));
        }
        if !status.is_success() {
            return Err(fail(
                Some(&answered),
                UNREACHABLE,
                format!("the resolver answered HTTP {status}"),
            ));
        }
        let cap = want.cap();
        if response.content_length().is_some_and(|n| n > cap) {
            return Err(fail(
                Some(&answered),
                LIMIT,
                format!("a {} body is at most {} KiB", want.name(), cap / 1024),
            ));
        }
        let body = self.read_capped(response, cap).map_err(|(code, detail)| {
            let detail = match code {
                LIMIT => format!(
                    "{detail}: a {} body is at most {} KiB",
                    want.name(),
                    cap / 1024
                ),
                _ => detail,
            };
            fail(Some(&answered), code, detail)
        })?;
        Ok(Got {
            url: answered,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }

    /// Reads at most `cap` bytes, chunk by chunk, and refuses a body longer than that; checks
    /// the overall deadline between chunks (each read has the request timeout).
    fn read_capped(
        &self,
        mut response: reqwest::blocking::Response,
        cap: u64,
    ) -> Result<Vec<u8>, (&'static str, String)> {
        let mut body = Vec::new();
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if Instant::now() >= self.deadline {
                return Err((
                    UNREACHABLE,
                    format!(
                        "the body did not arrive within the resolution's {:?}",
                        self.overall
                    ),
                ));
            }
            let n = match response.read(&mut chunk) {
                Ok(0) => return Ok(body),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err((UNREACHABLE, format!("reading the body: {e}"))),
            };
            body.extend_from_slice(chunk.get(..n).unwrap_or_default());
            if u64::try_from(body.len()).unwrap_or(u64::MAX) > cap {
                return Err((LIMIT, "the body is longer".into()));
            }
        }
    }
}

/// The redirect policy's refusal, if that is what stopped the request.
fn limit_hit(e: &reqwest::Error) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(hit) = s.downcast_ref::<LimitHit>() {
            return Some(hit.0.clone());
        }
        source = s.source();
    }
    None
}

/// A transport error in a sentence: what failed and, innermost, why.
fn describe(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "no answer in time"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "the request failed"
    };
    let mut inner = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        inner = s.to_string();
        source = s.source();
    }
    format!("{what}: {inner}")
}

#[cfg(test)]
#[path = "../tests/common/http.rs"]
mod http;

#[cfg(test)]
mod tests {
    use super::http::{self, closed_port, redirect, response, serve, Answer};
    use super::*;

    fn fetcher(loopback: bool) -> Fetcher {
        Fetcher::with_timeouts(loopback, Duration::from_millis(700), Duration::from_secs(3))
            .unwrap()
    }

    #[test]
    fn a_body_comes_back_with_the_accept_header_of_what_is_wanted_and_no_fragment_sent() {
        let (base, log) = serve(|_, _| response("200 OK", &[], b"{\"linkset\": []}"));
        let got = fetcher(true)
            .get(
                &format!("{base}/01/09506000134352/21/A1?linkType=linkset#123456"),
                Want::Linkset,
            )
            .unwrap();
        assert_eq!(got.body, "{\"linkset\": []}");
        assert_eq!(
            got.url,
            format!("{base}/01/09506000134352/21/A1?linkType=linkset")
        );
        let head = log.lock().unwrap()[0].to_ascii_lowercase();
        assert!(
            head.starts_with("get /01/09506000134352/21/a1?linktype=linkset http/1.1\r\n"),
            "{head}"
        );
        assert!(
            head.contains("accept: application/linkset+json\r\n"),
            "{head}"
        );
        // The embedded credential never leaves the device; nor does a cookie or a referer.
        assert!(!head.contains("123456") && !head.contains('#'), "{head}");
        assert!(
            !head.contains("cookie") && !head.contains("referer"),
            "{head}"
        );
        let (base, log) = serve(|_, _| response("200 OK", &[], b"x"));
        fetcher(true)
            .get(&format!("{base}/p"), Want::Passport)
            .unwrap();
        fetcher(true)
            .get(&format!("{base}/c"), Want::Chain)
            .unwrap();
        let log = log.lock().unwrap().join("").to_ascii_lowercase();
        assert!(
            log.contains("accept: application/vc+jwt, application/vc+ld+json\r\n"),
            "{log}"
        );
        assert!(log.contains("accept: application/json\r\n"), "{log}");
    }

    #[test]
    fn http_is_refused_without_insecure_loopback_and_nothing_is_asked() {
        let (base, log) = serve(|_, _| response("200 OK", &[], b"{}"));
        let e = fetcher(false)
            .get(&format!("{base}/x"), Want::Linkset)
            .unwrap_err();
        assert_eq!(e.code, LIMIT, "{e:?}");
        assert!(e.detail.contains("--insecure-loopback"), "{e:?}");
        // Even with it, http elsewhere than loopback is refused before any connection.
        let e = fetcher(true)
            .get("http://192.0.2.1/x", Want::Linkset)
            .unwrap_err();
        assert_eq!(e.code, LIMIT, "{e:?}");
        let e = fetcher(true)
            .get("ftp://127.0.0.1/x", Want::Linkset)
            .unwrap_err();
        assert_eq!(e.code, LIMIT, "{e:?}");
        let e = fetcher(true)
            .get(&base.replace("http://", "http://user:pw@"), Want::Linkset)
            .unwrap_err();
        assert_eq!(e.code, LIMIT, "{e:?}");
        std::thread::sleep(Duration::from_millis(100));
        assert!(log.lock().unwrap().is_empty());
    }

    #[test]
    fn hops_are_https_or_loopback_http_with_the_flag() {
        let ok = |u: &str, l| hop_allowed(&Url::parse(u).unwrap(), l).is_ok();
        assert!(ok("https://id.gs1.org/01/09506000134352", false));
        assert!(!ok("http://id.gs1.org/01/09506000134352", false));
        assert!(!ok("http://id.gs1.org/01/09506000134352", true));
        assert!(!ok("http://127.0.0.1:8080/", false));
        for u in [
            "http://127.0.0.1:8080/",
            "http://[::1]/",
            "http://LOCALHOST/",
            "http://127.1.2.3/",
        ] {
            assert!(ok(u, true), "{u}");
        }
        for u in [
            "http://127.0.0.1.example/",
            "http://[::2]/",
            "http://0.0.0.0/",
            "http://localhost.evil/",
        ] {
            assert!(!ok(u, true), "{u}");
        }
        assert!(!ok("https://a:b@id.gs1.org/", false));
        assert!(!ok("file:///etc/passwd", true));
    }

    /// A server redirecting `/r/N` to `/r/N+1` until `/r/{last}`, which answers.
    fn chain(last: usize) -> (String, http::Log) {
        serve(move |target, _| {
            let n: usize = target.trim_start_matches("/r/").parse().unwrap_or(0);
            if n >= last {
                response("200 OK", &[], b"end")
            } else {
                redirect(&format!("/r/{}", n + 1))
            }
        })
    }

    #[test]
    fn five_redirects_are_followed_and_a_sixth_is_refused() {
        let (base, _) = chain(5);
        let got = fetcher(true)
            .get(&format!("{base}/r/0"), Want::Linkset)
            .unwrap();
        assert_eq!((got.body.as_str(), got.url), ("end", format!("{base}/r/5")));
        let (base, log) = chain(6);
        let e = fetcher(true)
            .get(&format!("{base}/r/0"), Want::Linkset)
            .unwrap_err();
        assert_eq!(e.code, LIMIT, "{e:?}");
        assert!(e.detail.contains("redirects"), "{e:?}");
        // The sixth redirect's target was never asked.
        assert_eq!(log.lock().unwrap().len(), 6);
    }

    #[test]
    fn a_redirect_off_loopback_or_to_plain_http_is_refused_before_it_is_followed() {
        for to in [
            "http://192.0.2.1/passport",
            "http://example.com/passport",
            "ftp://127.0.0.1/x",
        ] {
            let (base, _) = serve(move |_, _| redirect(to));
            let e = fetcher(true)
                .get(&format!("{base}/x"), Want::Passport)
                .unwrap_err();
            assert_eq!(e.code, LIMIT, "{to}: {e:?}");
            assert!(e.detail.contains("redirect"), "{to}: {e:?}");
        }
    }

    #[test]
    fn a_body_past_its_cap_is_refused_with_or_without_a_length() {
        let big = vec![b'a'; 300 * 1024];
        let sized = big.clone();
        let (base, _) = serve(move |_, _| response("200 OK", &[], &sized));
        let e = fetcher(true)
            .get(&format!("{base}/x"), Want::Passport)
            .unwrap_err();
        assert_eq!(e.code, LIMIT, "{e:?}");
        // No length: read until the cap, not until the end.
        let streamed = big.clone();
        let (base, _) = serve(move |_, _| {
            let mut raw = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec();
            raw.extend_from_slice(&streamed);
            Answer::Raw(raw)
        });
        let e = fetcher(true)
            .get(&format!("{base}/x"), Want::Linkset)
            .unwrap_err();
        assert_eq!(e.code, LIMIT, "{e:?}");
        // A chain may be larger: 300 KiB is within its 4 MiB.
        let got = fetcher(true)
            .get(&format!("{base}/x"), Want::Chain)
            .unwrap();
        assert_eq!(got.body.len(), 300 * 1024);
        // Exactly the cap is allowed.
        let exact = vec![b'b'; 256 * 1024];
        let (base, _) = serve(move |_, _| response("200 OK", &[], &exact));
        assert!(fetcher(true)
            .get(&format!("{base}/x"), Want::Passport)
            .is_ok());
    }

    #[test]
    fn silence_a_closed_port_and_server_errors_are_unreachable_and_404_is_not_linked() {
        let (base, _) = serve(|_, _| Answer::Hang(30));
        let started = Instant::now();
        let e = fetcher(true)
            .get(&format!("{base}/x"), Want::Linkset)
            .unwrap_err();
        assert_eq!(e.code, UNREACHABLE, "{e:?}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        let port = closed_port();
        let e = fetcher(true)
            .get(&format!("http://127.0.0.1:{port}/x"), Want::Linkset)
            .unwrap_err();
        assert_eq!(e.code, UNREACHABLE, "{e:?}");
        let (base, _) = serve(|t, _| match t {
            "/gone" => response("404 Not Found", &[], b"no"),
            _ => response("503 Service Unavailable", &[], b"busy"),
        });
        let e = fetcher(true)
            .get(&format!("{base}/gone"), Want::Linkset)
            .unwrap_err();
        assert_eq!(e.code, NOT_LINKED, "{e:?}");
        let e = fetcher(true)
            .get(&format!("{base}/busy"), Want::Linkset)
            .unwrap_err();
        assert_eq!(e.code, UNREACHABLE, "{e:?}");
        assert!(e.detail.contains("503"), "{e:?}");
    }

    #[test]
    fn the_overall_deadline_is_shared_by_every_request() {
        let (base, _) = serve(|_, _| Answer::Hang(30));
        let f =
            Fetcher::with_timeouts(true, Duration::from_millis(400), Duration::from_millis(700))
                .unwrap();
        assert_eq!(
            f.get(&format!("{base}/a"), Want::Linkset).unwrap_err().code,
            UNREACHABLE
        );
        assert_eq!(
            f.get(&format!("{base}/b"), Want::Linkset).unwrap_err().code,
            UNREACHABLE
        );
        // The budget is spent: the third is not even sent.
        let e = f.get(&format!("{base}/c"), Want::Linkset).unwrap_err();
        assert_eq!(e.code, LIMIT, "{e:?}");
    }
}
