//! AFL++ target `trust_list`: raw bytes into `cellproof_fuzz::trust_list` (see `src/lib.rs` for what it
//! checks). Built and run by `cargo xtask fuzz --target trust_list`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        cellproof_fuzz::trust_list(data);
    });
}
