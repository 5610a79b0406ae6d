//! Opening an address in the user's browser: `$BROWSER ARG` when set (a `%s` in it
//! is replaced by the argument), else the platform's opener (`xdg-open`, `open`).
//!
//! An address that carries a secret (the consent page's `state`) never becomes a
//! process argument, which every user can read in /proc/PID/cmdline: the browser is
//! given a private local page that forwards to it instead.

use std::io::Write;
use std::process::{Command, Stdio};

use tempfile::NamedTempFile;

/// The forwarding page; the browser may read it any time until this is dropped.
pub struct ForwardingPage {
    _file: NamedTempFile,
}

/// How pages are opened.
#[derive(Debug, Clone, PartialEq)]
pub enum Browser {
    /// Not at all (`--no-browser`): the address is printed.
    Off,
    /// The desktop's default browser.
    Desktop,
    /// A command, as `BROWSER` gives it: `%s` stands for the address, else it goes last.
    Command(String),
}

impl Browser {
    /// The command the settings name (`BROWSER`), else the desktop's browser.
    pub fn from_setting(command: Option<String>) -> Browser {
        command.map_or(Browser::Desktop, Browser::Command)
    }
}

/// Opens `url` through a 0600 page in the user's private runtime folder. `None` when
/// no browser could be started, or none is to be (the caller then prints the address
/// for the user).
pub fn open_privately(url: &str, browser: &Browser) -> Option<ForwardingPage> {
    if *browser == Browser::Off {
        return None;
    }
    let folder = crate::private_file::ensure_runtime_folder().ok()?;
    let mut file = tempfile::Builder::new()
        .prefix("open-")
        .suffix(".html")
        .tempfile_in(folder)
        .ok()?;
    file.write_all(forwarding_page(url).as_bytes()).ok()?;
    let page = url::Url::from_file_path(file.path()).ok()?;
    open(page.as_str(), browser).then_some(ForwardingPage { _file: file })
}

/// A page that sends the browser on to `url` at once, without a Referer.
fn forwarding_page(url: &str) -> String {
    let escaped = url
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    format!(
        "<!doctype html><meta charset=\"utf-8\"><meta name=\"referrer\" content=\"no-referrer\">\n<meta http-equiv=\"refresh\" content=\"0;url={escaped}\">\n<title>spvault</title><p>Opening <a href=\"{escaped}\">the authorization page</a>…</p>\n"
    )
}

/// Opens `target` (a page's `file://` address); false when no browser could be started.
/// The browser (often a long-lived process) never inherits the variables that open
/// the vault.
fn open(target: &str, browser: &Browser) -> bool {
    let mut command = match browser {
        Browser::Off => return false,
        Browser::Command(browser) => {
            let command = if browser.contains("%s") {
                browser.replace("%s", "\"$1\"")
            } else {
                format!("{browser} \"$1\"")
            };
            let mut sh = Command::new("sh");
            sh.args(["-c", &command, "sh", target]);
            sh
        }
        Browser::Desktop => {
            let mut opener = Command::new(DESKTOP_OPENER);
            opener.arg(target);
            opener
        }
    };
    crate::settings::withhold_unlocking_vars(&mut command, &[]);
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .is_ok()
}

/// The desktop's own opener of addresses.
const DESKTOP_OPENER: &str = if cfg!(target_os = "macos") {
    "open"
} else {
    "xdg-open"
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_forwards_to_the_address_escaped() {
        let page = forwarding_page("https://x.example/a?b=1&c=\"<2>\"");
        assert!(
            page.contains("content=\"0;url=https://x.example/a?b=1&amp;c=&quot;&lt;2&gt;&quot;\"")
        );
    }
}
