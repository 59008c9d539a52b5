#![no_main]
//! See `tolk_fuzz::translate_input`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| tolk_fuzz::translate_input(data));
