//! QR decoding in a child process with resource limits.
//!
//! `cellproof_qr::decode_luma` runs zxing-cpp, C++ fed with pixels from untrusted images (a
//! photo anyone can hand over). A fault in it (a segfault, an abort, an endless loop, an
//! allocation without end) must not take the CLI down or hang it: the frame is decoded by this
//! same binary re-executed with the hidden subcommand `__decode WIDTH HEIGHT`, which caps its
//! own address space and CPU time (`setrlimit`, no core file), reads the luma frame from stdin
//! and writes the codes as one JSON object to stdout. The parent waits at most a wall-clock
//! timeout, kills the child past it, and turns any abnormal end into an error with a stable
//! code (exit 2 from `main`): `qr_decoder_crashed`, `qr_decoder_timeout`,
//! `qr_decoder_unavailable`. `crates/qr` itself stays a pure library, with no processes.

use std::io::{Read as _, Write as _};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _, Result};
use cellproof_qr::Decoded;
use serde_json::{json, Value};

use crate::cmd::Outcome;

/// Address space the child may map: the largest frame (`MAX_PIXELS`, 64 MiB of luma) with the
/// copies zxing-cpp and the rxing cascade make, and room to spare.
const ADDRESS_SPACE: u64 = 4 << 30;

/// CPU seconds the child may use (SIGXCPU at the soft limit, SIGKILL a little later).
const CPU_SECS: u64 = 60;

/// Wall-clock time the parent waits for the child (a child blocked rather than spinning does
/// not use up its CPU limit).
const WALL: Duration = Duration::from_secs(90);

/// Largest answer read from the child: the codes of one frame are a few kilobytes.
const MAX_ANSWER: u64 = 16 << 20;

/// Test builds only: a fault the child injects before decoding (`abort`, `segv`, `hang`,
/// `oom`), to prove the parent contains it. Release builds never read it.
#[cfg(debug_assertions)]
const FAULT_ENV: &str = "CELLPROOF_TEST_DECODE_FAULT";

/// Test builds only: the wall-clock timeout in milliseconds, so the `hang` fault is quick.
#[cfg(debug_assertions)]
const TIMEOUT_ENV: &str = "CELLPROOF_TEST_DECODE_TIMEOUT_MS";

fn wall() -> Duration {
    #[cfg(debug_assertions)]
    if let Some(ms) = std::env::var(TIMEOUT_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        return Duration::from_millis(ms);
    }
    WALL
}

/// A decoded frame: the codes and the decoder's own time in milliseconds (without the
/// process start).
pub struct Frame {
    pub codes: Vec<Decoded>,
    pub ms: f64,
}

/// Decodes a grayscale frame in a child process (see the module doc). A `DecodeError` of the
/// decoder (an empty or oversized image) comes back with its own code.
pub fn decode_luma(width: u32, height: u32, luma: &[u8]) -> Result<Frame> {
    let exe = std::env::current_exe().map_err(|e| {
        anyhow!("cannot find the cellproof binary to decode in: {e} (qr_decoder_unavailable)")
    })?;
    let mut child = Command::new(exe)
        .arg("__decode")
        .arg(width.to_string())
        .arg(height.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            anyhow!("cannot start the QR decoder process: {e} (qr_decoder_unavailable)")
        })?;
    // The frame is written and the answers read on their own threads: a child that stops
    // reading (it crashed) or writes much must not block the parent, which watches the clock.
    let stdin = child.stdin.take();
    let frame = luma.to_vec();
    let writer = std::thread::spawn(move || {
        if let Some(mut s) = stdin {
            // A child that died early closes the pipe: its exit status says why.
            let _ = s.write_all(&frame);
        }
    });
    let reader = |pipe: Option<Box<dyn std::io::Read + Send>>, cap: u64| {
        std::thread::spawn(move || {
            let mut out = Vec::new();
            if let Some(p) = pipe {
                let _ = p.take(cap).read_to_end(&mut out);
            }
            out
        })
    };
    let stdout = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        MAX_ANSWER,
    );
    let stderr = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        64 * 1024,
    );
    let limit = wall();
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().context("waiting for the QR decoder")? {
            break s;
        }
        if started.elapsed() >= limit {
            // Killed and reaped; the pipes close with it, so the threads end.
            let _ = child.kill();
            let _ = child.wait();
            let _ = writer.join();
            bail!(
                "the QR decoder did not finish within {} s and was stopped; nothing was decoded (qr_decoder_timeout)",
                limit.as_secs_f64()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let _ = writer.join();
    let out = stdout.join().unwrap_or_default();
    let err = stderr.join().unwrap_or_default();
    if !status.success() {
        bail!(
            "the QR decoder failed on this image ({}){}; nothing was decoded (qr_decoder_crashed)",
            describe(&status),
            if String::from_utf8_lossy(&err).contains("memory allocation") {
                ", out of its memory limit"
            } else {
                ""
            }
        );
    }
    let answer: Value = serde_json::from_slice(&out).map_err(|_| {
        anyhow!("the QR decoder answered something other than its JSON (qr_decoder_crashed)")
    })?;
    if let Some(e) = answer.get("error") {
        bail!(
            "{} ({})",
            e["message"].as_str().unwrap_or_default(),
            e["code"].as_str().unwrap_or("qr_decoder_crashed")
        );
    }
    let codes = answer["codes"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| Decoded {
                    text: c["text"].as_str().unwrap_or_default().to_owned(),
                    corners: serde_json::from_value(c["corners"].clone()).unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Frame {
        codes,
        ms: answer["ms"].as_f64().unwrap_or_default(),
    })
}

/// How a child ended, for the error sentence: its signal (by name when common) or exit code.
fn describe(status: &std::process::ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt as _;
        if let Some(sig) = status.signal() {
            let name = match sig {
                6 => " SIGABRT",
                9 => " SIGKILL",
                11 => " SIGSEGV",
                24 => " SIGXCPU, out of its CPU time",
                _ => "",
            };
            return format!("killed by signal {sig}{name}");
        }
    }
    match status.code() {
        Some(c) => format!("exit status {c}"),
        None => "ended abnormally".to_owned(),
    }
}

/// Caps the child's own resources before it touches the frame: address space, CPU time, and
/// no core file (a crash on a hostile image should not leave its memory on disk).
fn limit_self() -> Result<()> {
    #[cfg(unix)]
    {
        use rustix::process::{setrlimit, Resource, Rlimit};
        let set = |r: Resource, soft: u64, hard: u64| {
            setrlimit(
                r,
                Rlimit {
                    current: Some(soft),
                    maximum: Some(hard),
                },
            )
        };
        set(Resource::Core, 0, 0).context("setting the decoder's core-file limit")?;
        set(Resource::Cpu, CPU_SECS, CPU_SECS + 5).context("setting the decoder's CPU limit")?;
        set(Resource::As, ADDRESS_SPACE, ADDRESS_SPACE)
            .context("setting the decoder's memory limit")?;
    }
    Ok(())
}

/// Test builds only: the injected fault, if any (see [`FAULT_ENV`]).
#[cfg(debug_assertions)]
fn inject_fault() {
    match std::env::var(FAULT_ENV).as_deref() {
        Ok("abort") => std::process::abort(),
        #[cfg(unix)]
        Ok("segv") => {
            // The Rust runtime's SIGSEGV handler (stack-overflow detection) takes the first
            // signal, restores the default action and returns; the second one is fatal, as a
            // real fault in C++ is (it faults again once the handler has returned).
            for _ in 0..2 {
                let _ = rustix::process::kill_process(
                    rustix::process::getpid(),
                    rustix::process::Signal::SEGV,
                );
            }
        }
        Ok("hang") => loop {
            std::thread::sleep(Duration::from_secs(1));
        },
        Ok("oom") => {
            // Grows until the address-space limit refuses: the allocator then aborts. Zeroed
            // allocations are fresh mappings never touched: address space, not memory.
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(std::hint::black_box(vec![0u8; 256 << 20]));
            }
        }
        _ => {}
    }
}

/// The hidden `__decode WIDTH HEIGHT` subcommand: the child's side.
pub fn child(width: u32, height: u32) -> Result<Outcome> {
    limit_self()?;
    #[cfg(debug_assertions)]
    inject_fault();
    let want = u64::from(width) * u64::from(height);
    if want > cellproof_qr::MAX_PIXELS {
        // The decoder refuses it by size; no need to read it all first.
        return answer_error(&cellproof_qr::DecodeError::ImageTooLarge {
            width,
            height,
            max_pixels: cellproof_qr::MAX_PIXELS,
            max_side: cellproof_qr::MAX_SIDE,
        });
    }
    let mut luma = Vec::new();
    std::io::stdin()
        .lock()
        .take(want + 1)
        .read_to_end(&mut luma)
        .context("reading the frame")?;
    let started = Instant::now();
    match cellproof_qr::decode_luma(width, height, &luma) {
        Ok(codes) => {
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            let codes: Vec<Value> = codes
                .iter()
                .map(|c| json!({"text": c.text, "corners": c.corners}))
                .collect();
            println!("{}", json!({"codes": codes, "ms": ms}));
            Ok(Outcome::Success)
        }
        Err(e) => answer_error(&e),
    }
}

/// The decoder's own refusal (empty, too large), passed to the parent with its code.
fn answer_error(e: &cellproof_qr::DecodeError) -> Result<Outcome> {
    println!(
        "{}",
        json!({"error": {"code": e.code(), "message": e.to_string()}})
    );
    Ok(Outcome::Success)
}
