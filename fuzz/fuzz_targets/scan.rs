//! AFL++ target `scan`: raw bytes into `cellproof_fuzz::scan` (see `src/lib.rs` for what it
//! checks). Built and run by `cargo xtask fuzz --target scan`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        cellproof_fuzz::scan(data);
    });
}
