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

/// One route's counters: requests by method and status (a handful per route, searched
/// linearly) and the latency histogram.
#[derive(Default)]
struct Route {
    requests: Vec<(String, u16, u64)>,
    latency: Hist,
}

#[derive(Default)]
struct Inner {
    routes: BTreeMap<String, Route>,
    outcomes: BTreeMap<(&'static str, String), u64>,
    /// Plain counters by full metric name (work done: delta builds, packs refused).
    counters: BTreeMap<&'static str, u64>,
}

/// The registry's metrics.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl Metrics {
    /// Records one request on a route pattern. Allocates only the first time a route, method
    /// and status are seen: this runs on every request, published GETs included, under one
    /// mutex shared by the workers.
    pub fn request(&self, route: &str, method: &str, status: u16, took: Duration) {
        let secs = took.as_secs_f64();
        let Ok(mut m) = self.inner.lock() else {
            return;
        };
        let r = match m.routes.get_mut(route) {
            Some(r) => r,
            None => m.routes.entry(route.to_owned()).or_default(),
        };
        match r
            .requests
            .iter_mut()
            .find(|(m, s, _)| *s == status && m == method)
        {
            Some((_, _, n)) => *n += 1,
            None => r.requests.push((method.to_owned(), status, 1)),
        }
        let h = &mut r.latency;
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

    /// Adds one to a plain counter (`name` is the full metric name, ending in `_total`).
    pub fn count(&self, name: &'static str) {
        if let Ok(mut m) = self.inner.lock() {
            *m.counters.entry(name).or_default() += 1;
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
        for (route, r) in &m.routes {
            let mut rows: Vec<_> = r.requests.iter().collect();
            rows.sort();
            for (method, status, n) in rows {
                let _ = writeln!(
                    out,
                    "cellproof_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {n}",
                    esc(route)
                );
            }
        }
        out.push_str("# HELP cellproof_http_request_duration_seconds Request latency by route.\n");
        out.push_str("# TYPE cellproof_http_request_duration_seconds histogram\n");
        for (route, Route { latency: h, .. }) in &m.routes {
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
        for (name, n) in &m.counters {
            let _ = writeln!(out, "# TYPE {name} counter\n{name} {n}");
        }
        out
    }
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_route_method_and_status_and_timed_per_route() {
        let m = Metrics::default();
        let ms = Duration::from_millis(1);
        m.request("/v1/bundle", "GET", 200, ms);
        m.request("/v1/bundle", "GET", 200, Duration::from_millis(20));
        m.request("/v1/bundle", "HEAD", 200, ms);
        m.request("/v1/bundle", "GET", 304, ms);
        m.request("/v1/status/{issuer}/{list}", "GET", 404, ms);
        let out = m.render();
        for line in [
            "cellproof_http_requests_total{route=\"/v1/bundle\",method=\"GET\",status=\"200\"} 2",
            "cellproof_http_requests_total{route=\"/v1/bundle\",method=\"GET\",status=\"304\"} 1",
            "cellproof_http_requests_total{route=\"/v1/bundle\",method=\"HEAD\",status=\"200\"} 1",
            "cellproof_http_requests_total{route=\"/v1/status/{issuer}/{list}\",method=\"GET\",status=\"404\"} 1",
            "cellproof_http_request_duration_seconds_count{route=\"/v1/bundle\"} 4",
            // 1 ms falls in the 0.001 bucket, 20 ms only from 0.025 up.
            "cellproof_http_request_duration_seconds_bucket{route=\"/v1/bundle\",le=\"0.001\"} 3",
            "cellproof_http_request_duration_seconds_bucket{route=\"/v1/bundle\",le=\"0.025\"} 4",
        ] {
            assert!(out.contains(line), "missing {line} in\n{out}");
        }
    }

    #[test]
    fn route_labels_are_escaped() {
        let m = Metrics::default();
        m.request("/a\"b\\c", "GET", 200, Duration::ZERO);
        assert!(m
            .render()
            .contains("route=\"/a\\\"b\\\\c\",method=\"GET\",status=\"200\"} 1"));
    }
}
