//! AFL++ target `request`: raw bytes into `cellproof_fuzz::request` (see `src/lib.rs` for what it
//! checks). Built and run by `cargo xtask fuzz --target request`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        cellproof_fuzz::request(data);
    });
}
