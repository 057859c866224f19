//! AFL++ target `evidence`: raw bytes into `cellproof_fuzz::evidence` (see `src/lib.rs` for what it
//! checks). Built and run by `cargo xtask fuzz --target evidence`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        cellproof_fuzz::evidence(data);
    });
}
