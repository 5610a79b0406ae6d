//! The local listener: waits on 127.0.0.1 for the one redirect that ends a consent
//! attempt, answers the browser with a small page, and ignores everything else.

use std::time::{Duration, Instant};

use tiny_http::{Header, Response, Server};

use super::consent::{Callback, CallbackError, ConsentRequest};
use crate::error::{Error, Result};

pub struct Listener {
    server: Server,
    path: String,
    pub port: u16,
}

impl Listener {
    /// Listens on 127.0.0.1 only (never on other interfaces) for requests to `path`.
    pub fn bind(port: u16, path: &str) -> Result<Listener> {
        let server = Server::http(("127.0.0.1", port)).map_err(|e| {
            // What to do depends on where the app's redirect URI points: the caller says.
            Error::Other(format!("cannot listen on 127.0.0.1:{port} ({e})"))
        })?;
        let port = server
            .server_addr()
            .to_ip()
            .map(|a| a.port())
            .unwrap_or(port);
        Ok(Listener {
            server,
            path: if path.is_empty() {
                "/".into()
            } else {
                path.to_owned()
            },
            port,
        })
    }

    /// Waits until `deadline` for the redirect. A Login-URI hand-off is answered with a
    /// redirect to the continuation, and the wait goes on.
    pub fn wait(&self, request: &ConsentRequest, deadline: Instant) -> Result<Callback> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(timed_out());
            }
            let Some(incoming) = self
                .server
                .recv_timeout(left.min(Duration::from_millis(500)))
                .map_err(|e| Error::Other(format!("the local listener failed: {e}")))?
            else {
                continue;
            };
            // Only a browser on this machine, addressing us by name: a page on another
            // site rebinding its DNS to 127.0.0.1 sends its own Host.
            if !self.addressed_to_us(&incoming) {
                let _ = incoming.respond(page(
                    400,
                    "Wrong address",
                    "spvault answers only http://127.0.0.1 or http://localhost on its own port.",
                ));
                continue;
            }
            let target = incoming.url().to_owned();
            let (path, query) = target.split_once('?').unwrap_or((&target, ""));
            if path != self.path {
                let _ = incoming.respond(page(
                    404,
                    "Not the spvault callback",
                    "spvault is waiting for the authorization redirect on another path.",
                ));
                continue;
            }
            match request.read_callback(query) {
                Ok(Callback::HandOff { continuation }) => {
                    let location =
                        Header::from_bytes("Location", continuation.as_str()).map_err(|_| {
                            Error::Other("the continuation address is not a valid header".into())
                        })?;
                    let _ = incoming.respond(Response::empty(302).with_header(location));
                }
                Ok(callback) => {
                    let _ = incoming.respond(page(200, "Authorized", "spvault received the authorization. You can close this tab and go back to the terminal."));
                    return Ok(callback);
                }
                Err(e @ CallbackError::Denied { .. }) => {
                    let _ = incoming.respond(page(400, "Authorization failed", &e.to_string()));
                    return Err(e.into());
                }
                // Anyone on this machine can send these: refuse them and keep waiting
                // for the one redirect that carries this attempt's state.
                Err(e) => {
                    let why = ignored_because(&e);
                    let _ = incoming.respond(page(
                        400,
                        "No authorization here",
                        &format!("spvault ignored this request: {why}. It keeps waiting."),
                    ));
                    if !matches!(e, CallbackError::NotACallback) {
                        eprintln!("Ignored a request to the listener: {why}; still waiting.");
                    }
                }
            }
        }
    }

    /// Whether the request's Host is `127.0.0.1:PORT` or `localhost:PORT`.
    fn addressed_to_us(&self, request: &tiny_http::Request) -> bool {
        let Some(host) = request
            .headers()
            .iter()
            .find(|h| h.field.equiv("Host"))
            .map(|h| h.value.as_str())
        else {
            return false;
        };
        let port = self.port.to_string();
        host.rsplit_once(':').is_some_and(|(name, p)| {
            p == port && (name == "127.0.0.1" || name.eq_ignore_ascii_case("localhost"))
        })
    }
}

fn ignored_because(error: &CallbackError) -> &'static str {
    match error {
        CallbackError::NotACallback => "it holds no authorization",
        CallbackError::StateMismatch => {
            "its state does not match this login attempt (forged, or from an older attempt)"
        }
        CallbackError::BadCallbackUri => {
            "its Login URI hand-off leads away from the profile's Seller or Vendor Central host"
        }
        CallbackError::Denied { .. } => "the seller declined",
    }
}

pub fn timed_out() -> Error {
    Error::Other("no authorization arrived before the timeout".into())
        .with_hint("run `vault login PROFILE` again (raise --timeout if you need longer)")
}

fn page(status: u16, title: &str, text: &str) -> Response<std::io::Cursor<Vec<u8>>> {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let html = format!(
        "<!doctype html><meta charset=\"utf-8\"><title>spvault: {0}</title><h1>{0}</h1><p>{1}</p>",
        escape(title),
        escape(text)
    );
    Response::from_data(html.into_bytes())
        .with_status_code(status)
        .with_header(
            Header::from_bytes("Content-Type", "text/html; charset=utf-8")
                .expect("constant header"),
        )
}
