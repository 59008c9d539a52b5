#![no_main]
//! See `tolk_fuzz::checkpoint`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| tolk_fuzz::checkpoint(data));
