//! A tiny HTTP/1.1 server on loopback for the resolver's tests: every connection gets a thread,
//! its request head is logged, and the test's handler writes whatever raw answer the test
//! needs (redirect chains, oversized bodies, or nothing at all). Also included by
//! `src/fetch.rs`'s unit tests.

#![allow(dead_code)]

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// What the handler does with a connection.
pub enum Answer {
    /// Write these bytes and close.
    Raw(Vec<u8>),
    /// Say nothing and keep the connection open for this many seconds.
    Hang(u64),
}

/// A status line, headers and a body, with `Content-Length` and `Connection: close`.
pub fn response(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
    let mut head = format!("HTTP/1.1 {status}\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    Answer::Raw(out)
}

/// A redirect to `to`.
pub fn redirect(to: &str) -> Answer {
    response("302 Found", &[("Location", to)], b"")
}

/// The request heads received, in order.
pub type Log = Arc<Mutex<Vec<String>>>;

/// Starts the server; `handler` gets the request target (path and query) and the request head.
/// Returns its base URL (`http://127.0.0.1:PORT`) and the log.
pub fn serve(handler: impl Fn(&str, &str) -> Answer + Send + Sync + 'static) -> (String, Log) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding loopback");
    let base = format!("http://{}", listener.local_addr().expect("local address"));
    let log: Log = Arc::default();
    let seen = Arc::clone(&log);
    let handler = Arc::new(handler);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let (seen, handler) = (Arc::clone(&seen), Arc::clone(&handler));
            std::thread::spawn(move || answer(stream, &seen, &*handler));
        }
    });
    (base, log)
}

fn answer(mut s: TcpStream, seen: &Log, handler: &dyn Fn(&str, &str) -> Answer) {
    let mut req = Vec::new();
    let mut buf = [0u8; 1024];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => req.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&req).into_owned();
    let target = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    seen.lock().unwrap().push(head.clone());
    match handler(&target, &head) {
        Answer::Raw(bytes) => {
            let _ = s.write_all(&bytes);
        }
        Answer::Hang(secs) => std::thread::sleep(std::time::Duration::from_secs(secs)),
    }
}

/// A loopback port nothing listens on (bound, then closed).
pub fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("binding loopback");
    l.local_addr().expect("local address").port()
}
