//! AFL++ target `status_list`: raw bytes into `cellproof_fuzz::status_list` (see `src/lib.rs` for what it
//! checks). Built and run by `cargo xtask fuzz --target status_list`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        cellproof_fuzz::status_list(data);
    });
}
