#![no_main]
//! See `tolk_fuzz::score`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| tolk_fuzz::score(data));
