//! The plaintext envelope parser takes any bytes without panicking, and what it
//! accepts writes back to text it accepts again, unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spvault::vault::format::Envelope;

fuzz_target!(|data: &[u8]| {
    if let Ok(envelope) = Envelope::parse(data) {
        let again = Envelope::parse(envelope.to_text().as_bytes()).expect("written text parses");
        assert_eq!(again, envelope);
    }
});
