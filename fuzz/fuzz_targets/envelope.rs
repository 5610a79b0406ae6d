//! The envelope parser takes any bytes without panicking, and what it accepts (in
//! format 2, or format 1 as earlier spvault wrote it) writes back, in format 2, to
//! bytes it accepts again, unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spvault::vault::format::{Envelope, ModelEncoding};

fuzz_target!(|data: &[u8]| {
    if let Ok(envelope) = Envelope::parse(data.to_vec()) {
        let written = Envelope {
            model: ModelEncoding::Json,
            ..envelope
        };
        let again = Envelope::parse(written.to_bytes()).expect("written bytes parse");
        assert_eq!(again, written);
    }
});
