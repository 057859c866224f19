//! AFL++ target `compact`: raw bytes into `cellproof_fuzz::compact` (see `src/lib.rs` for what it
//! checks). Built and run by `cargo xtask fuzz --target compact`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        cellproof_fuzz::compact(data);
    });
}
