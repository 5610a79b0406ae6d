//! `--syslog`: each entry also goes to the system log (facility authpriv), where
//! the user who runs spvault cannot rewrite it.

use std::ffi::CString;
use std::sync::Once;

/// Opens the connection to the system log once, named `spvault`.
pub fn open() {
    static OPEN: Once = Once::new();
    OPEN.call_once(|| {
        // SAFETY: the identity is a static C string, which openlog may keep.
        unsafe {
            libc::openlog(
                c"spvault".as_ptr(),
                libc::LOG_PID | libc::LOG_NDELAY,
                libc::LOG_AUTHPRIV,
            )
        };
    });
}

/// Sends one entry's line; a line with a NUL (there is none in JSON) is not sent.
pub fn send(line: &str) {
    let Ok(message) = CString::new(line) else {
        return;
    };
    // SAFETY: a constant "%s" format with one C string argument.
    unsafe { libc::syslog(libc::LOG_INFO, c"%s".as_ptr(), message.as_ptr()) };
}
