#![no_main]
//! See `tolk_fuzz::tokenizer`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| tolk_fuzz::tokenizer(data));
