//! AFL++ target `passport`: raw bytes into `cellproof_fuzz::passport` (see `src/lib.rs` for what it
//! checks). Built and run by `cargo xtask fuzz --target passport`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        cellproof_fuzz::passport(data);
    });
}
