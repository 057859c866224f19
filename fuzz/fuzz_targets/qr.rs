//! AFL++ target `qr`: raw bytes into `cellproof_fuzz::qr` (see `src/lib.rs` for what it
//! checks). Built and run by `cargo xtask fuzz --target qr`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        cellproof_fuzz::qr(data);
    });
}
