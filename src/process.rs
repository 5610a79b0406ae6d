//! Process-wide protections: no core dumps, which would write secrets to disk.

use std::sync::OnceLock;

static ORIGINAL_CORE_LIMIT: OnceLock<libc::rlimit> = OnceLock::new();

/// Sets this process's core-file limit to zero, remembering the old limit so a
/// command run by `exec` gets it back.
pub fn disable_core_dumps() {
    let mut original = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed to them.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_CORE, &mut original) == 0 {
            let _ = ORIGINAL_CORE_LIMIT.set(original);
            let none = libc::rlimit {
                rlim_cur: 0,
                rlim_max: original.rlim_max,
            };
            libc::setrlimit(libc::RLIMIT_CORE, &none);
        }
    }
}

/// Gives the soft core-file limit back, just before `exec` hands the process over.
pub fn restore_core_dumps() {
    if let Some(original) = ORIGINAL_CORE_LIMIT.get() {
        // SAFETY: as above.
        unsafe {
            libc::setrlimit(libc::RLIMIT_CORE, original);
        }
    }
}

/// Lets a reader that goes away (`vault list | head -1`) end this process the way it
/// ends other Unix tools, by SIGPIPE, instead of a write error or a panic; a command
/// run by `exec` inherits the default too. Not for the servers (`serve`, the agent,
/// the login listener), which must outlive a client that hangs up.
pub fn end_quietly_on_closed_pipe() {
    // SAFETY: setting a signal's disposition to the default has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Raises the soft open-file limit to the hard one (a server holds one descriptor per
/// connection) and returns the limit now in force.
pub fn raise_open_file_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: as above.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1024;
        }
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
            limit = raised;
        }
    }
    limit.rlim_cur
}

/// This process's user id.
pub fn current_uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}
