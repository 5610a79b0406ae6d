//! The envelope parser takes any bytes without panicking, and what it accepts (in
//! format 3, or formats 1 and 2 as earlier spvault wrote them) writes back, in
//! format 3, to bytes it accepts again, unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spvault::vault::format::{Envelope, ModelEncoding};
use spvault::vault::store::Stored;

fuzz_target!(|data: &[u8]| {
    if let Ok(envelope) = Envelope::read(Stored::from_bytes(data.to_vec())) {
        let records = envelope
            .read_records(0..envelope.records_len())
            .expect("an accepted envelope's records are inside it")
            .into_owned();
        let header = Envelope::header(
            envelope.kdf,
            &envelope.salt,
            envelope.payload(),
            records.len() as u64,
        );
        let written = [&header[..], envelope.payload(), &records].concat();
        let again = Envelope::read(Stored::from_bytes(written)).expect("written bytes parse");
        assert_eq!(again.model, ModelEncoding::Sealed);
        assert_eq!((again.kdf, &again.salt), (envelope.kdf, &envelope.salt));
        assert_eq!(again.payload(), envelope.payload());
        let again_records = again.read_records(0..again.records_len()).unwrap();
        assert_eq!(&again_records[..], &records[..]);
    }
});
