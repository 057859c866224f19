//! `verify --resolve` (SPEC.md section 2.2): the core plans where to ask and reads what comes
//! back (`cellproof_core::resolve`); this file walks that plan with [`crate::fetch`] and hands
//! the core what it fetched, or why nothing came, for `verify_resolved`.
//!
//! Each ask is tried in order until one brings a passport: a linkset ask fetches the linkset,
//! then the chain it links (preferred: it carries the versions and the attestations), else the
//! passport it links; a direct ask (a UNTP link's `uri`) fetches the passport. Whether a failure
//! lets the next place be asked, and which failure decides when all failed, are the core's
//! (`resolve::ask_next`, `resolve::deciding_failure`), as for the page.

use cellproof_core::resolve::{ask_next, deciding_failure, passport_links, plan, Fetched};

use crate::fetch::{Failure, Fetcher, Got, Want, UNREACHABLE};

/// The default resolver for element strings after the synced registry (SPEC.md section 2.2).
pub const GS1_RESOLVER: &str = "https://id.gs1.org";

/// What one resolution found.
pub enum Found {
    /// A passport chain (`{"versions", "attestations"}`) and the URL that served it.
    Chain(Got),
    /// A passport credential and the URL that served it.
    Passport(Got),
    /// Nothing usable: the failure that decides.
    Failed(Failure),
}

impl Found {
    /// The core's view of it, borrowing the bodies.
    pub fn fetched(&self) -> Fetched<'_> {
        match self {
            Found::Chain(g) => Fetched::Chain {
                url: &g.url,
                body: &g.body,
            },
            Found::Passport(g) => Fetched::Passport {
                url: &g.url,
                body: &g.body,
            },
            Found::Failed(f) => Fetched::Failed {
                url: f.url.as_deref(),
                code: f.code,
                detail: &f.detail,
            },
        }
    }
}

/// A resolution: what was found and one line per ask ("asked URL: linkset -> chain URL").
pub struct Resolution {
    /// The outcome handed to the core.
    pub found: Found,
    /// Where it asked and what each answer was, for people (escape before printing).
    pub asked: Vec<String>,
}

/// Resolves `input` online. `Ok(None)`: the core plans no ask (nothing to resolve: the
/// ordinary verdict applies); `Err`: the label itself does not decode (the ordinary verdict
/// names its code).
pub fn resolve(
    input: &str,
    resolvers: &[String],
    fetcher: &Fetcher,
) -> Result<Option<Resolution>, cellproof_core::Error> {
    let roots: Vec<&str> = resolvers.iter().map(String::as_str).collect();
    let asks = plan(input, &roots)?;
    if asks.is_empty() {
        return Ok(None);
    }
    let mut asked = Vec::new();
    let mut failures = Vec::new();
    for ask in asks {
        if !ask.linkset {
            match fetcher.get(&ask.url, Want::Passport) {
                Ok(got) => {
                    asked.push(format!("asked {}: passport", got.url));
                    return Ok(Some(Resolution {
                        found: Found::Passport(got),
                        asked,
                    }));
                }
                Err(f) => {
                    asked.push(format!("asked {}: {}", shown(&f, &ask.url), said(&f)));
                    let next = ask_next(f.code);
                    failures.push(f);
                    if !next {
                        break;
                    }
                }
            }
            continue;
        }
        let linkset = match fetcher.get(&ask.url, Want::Linkset) {
            Ok(got) => got,
            Err(f) => {
                asked.push(format!("asked {}: {}", shown(&f, &ask.url), said(&f)));
                let next = ask_next(f.code);
                failures.push(f);
                if next {
                    continue;
                }
                break;
            }
        };
        let mut line = format!("asked {}: linkset", linkset.url);
        let links = match passport_links(&linkset.body, input, &linkset.url) {
            Ok(links) => links,
            Err(e) => {
                line.push_str(&format!(" {} ({e})", e.code()));
                asked.push(line);
                failures.push(Failure {
                    url: Some(linkset.url),
                    code: e.code(),
                    detail: e.to_string(),
                });
                if ask_next(e.code()) {
                    continue;
                }
                break;
            }
        };
        for (link, want) in [
            (&links.chain, Want::Chain),
            (&links.passport, Want::Passport),
        ] {
            let Some(link) = link else { continue };
            match fetcher.get(link, want) {
                Ok(got) => {
                    line.push_str(&format!(" -> {} {}", want.name(), got.url));
                    asked.push(line);
                    let found = match want {
                        Want::Chain => Found::Chain(got),
                        _ => Found::Passport(got),
                    };
                    return Ok(Some(Resolution { found, asked }));
                }
                Err(f) => {
                    line.push_str(&format!(" -> {} {}: {}", want.name(), link, said(&f)));
                    let next = ask_next(f.code);
                    failures.push(f);
                    if !next {
                        asked.push(line);
                        return Ok(Some(decide(failures, asked)));
                    }
                }
            }
        }
        asked.push(line);
    }
    Ok(Some(decide(failures, asked)))
}

/// Every ask failed (or one ended the resolution): the failure the core says decides.
fn decide(failures: Vec<Failure>, asked: Vec<String>) -> Resolution {
    let codes: Vec<&str> = failures.iter().map(|f| f.code).collect();
    let decisive = deciding_failure(&codes);
    let found = match failures.into_iter().nth(decisive) {
        Some(f) => f,
        None => Failure {
            url: None,
            code: UNREACHABLE,
            detail: "no resolver was asked".into(),
        },
    };
    Resolution {
        found: Found::Failed(found),
        asked,
    }
}

/// The URL a failure names, else the one asked.
fn shown<'a>(f: &'a Failure, asked: &'a str) -> &'a str {
    f.url.as_deref().unwrap_or(asked)
}

/// A failure in an "asked" line: its code and sentence.
fn said(f: &Failure) -> String {
    format!("{} ({})", f.code, f.detail)
}
