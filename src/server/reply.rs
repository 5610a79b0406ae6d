//! The answers `serve` and `proxy` make themselves: never cached, since they may
//! carry tokens.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Response, StatusCode, header};

/// A finished answer.
pub type Reply = Response<Full<Bytes>>;

pub fn text(status: StatusCode, body: String) -> Reply {
    let mut reply = Response::new(Full::new(Bytes::from(body)));
    *reply.status_mut() = status;
    reply.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    reply
}

pub fn json(status: StatusCode, body: serde_json::Value) -> Reply {
    let mut reply = text(status, body.to_string());
    reply.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    reply
}
