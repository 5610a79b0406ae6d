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
            Error::Other(format!(
                "cannot listen on 127.0.0.1:{port} ({e}): free the port or choose another with --listen"
            ))
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
                Err(CallbackError::NotACallback) => {
                    let _ = incoming.respond(page(
                        400,
                        "No authorization here",
                        "This address holds no authorization; spvault keeps waiting.",
                    ));
                }
                Err(e) => {
                    let _ = incoming.respond(page(400, "Authorization failed", &e.to_string()));
                    return Err(e.into());
                }
            }
        }
    }
}

pub fn timed_out() -> Error {
    Error::Other(
        "no authorization arrived before the timeout: run `vault login` again (raise --timeout if you need longer)".into(),
    )
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
