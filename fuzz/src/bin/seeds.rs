//! Writes valid seed inputs for every fuzz target into `DIR/<target>/`:
//! `cargo run --release --bin seeds -- DIR` (run by `scripts/fuzz.sh`).

fn main() {
    let dir = std::env::args().nth(1).expect("usage: seeds DIR");
    tolk_fuzz::write_seeds(std::path::Path::new(&dir)).unwrap();
}
