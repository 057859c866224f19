//! Prometheus metrics in the text exposition format, kept by hand (a few counters and one
//! histogram do not justify a metrics framework): requests and latencies per route, and
//! issuer requests accepted or refused by problem type.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// Latency histogram bucket bounds, seconds.
const BUCKETS: [f64; 10] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5,
];

#[derive(Default)]
struct Hist {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<String, Hist>,
    outcomes: BTreeMap<(&'static str, String), u64>,
}

/// The registry's metrics.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl Metrics {
    /// Records one request on a route pattern.
    pub fn request(&self, route: &str, method: &str, status: u16, took: Duration) {
        let Ok(mut m) = self.inner.lock() else {
            return;
        };
        *m.requests
            .entry((route.to_owned(), method.to_owned(), status))
            .or_default() += 1;
        let h = m.latency.entry(route.to_owned()).or_default();
        let secs = took.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                if let Some(c) = h.counts.get_mut(i) {
                    *c += 1;
                }
            }
        }
        h.sum += secs;
        h.count += 1;
    }

    /// Records an issuer request's outcome: `accepted` or the problem type.
    pub fn outcome(&self, endpoint: &'static str, outcome: &str) {
        if let Ok(mut m) = self.inner.lock() {
            *m.outcomes
                .entry((endpoint, outcome.to_owned()))
                .or_default() += 1;
        }
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let Ok(m) = self.inner.lock() else {
            return out;
        };
        out.push_str(
            "# HELP cellproof_http_requests_total HTTP requests by route, method and status.\n",
        );
        out.push_str("# TYPE cellproof_http_requests_total counter\n");
        for ((route, method, status), n) in &m.requests {
            let _ = writeln!(
                out,
                "cellproof_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {n}",
                esc(route)
            );
        }
        out.push_str("# HELP cellproof_http_request_duration_seconds Request latency by route.\n");
        out.push_str("# TYPE cellproof_http_request_duration_seconds histogram\n");
        for (route, h) in &m.latency {
            let r = esc(route);
            for (b, c) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(
                    out,
                    "cellproof_http_request_duration_seconds_bucket{{route=\"{r}\",le=\"{b}\"}} {c}"
                );
            }
            let _ = writeln!(
                out,
                "cellproof_http_request_duration_seconds_bucket{{route=\"{r}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "cellproof_http_request_duration_seconds_sum{{route=\"{r}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "cellproof_http_request_duration_seconds_count{{route=\"{r}\"}} {}",
                h.count
            );
        }
        out.push_str("# HELP cellproof_issuer_requests_total Signed issuer requests by endpoint and outcome (accepted or problem type).\n");
        out.push_str("# TYPE cellproof_issuer_requests_total counter\n");
        for ((endpoint, outcome), n) in &m.outcomes {
            let _ = writeln!(
                out,
                "cellproof_issuer_requests_total{{endpoint=\"{endpoint}\",outcome=\"{}\"}} {n}",
                esc(outcome)
            );
        }
        out
    }
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
