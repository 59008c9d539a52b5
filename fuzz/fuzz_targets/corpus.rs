#![no_main]
//! See `tolk_fuzz::corpus`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| tolk_fuzz::corpus(data));
