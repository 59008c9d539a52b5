#![no_main]
//! See `tolk_fuzz::config`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| tolk_fuzz::config(data));
