//! What `vault serve` answers: `GET /token/PROFILE` with the bearer key, from the
//! table of tokens the background refresh keeps fresh.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode, header};
use jiff::{SignedDuration, Timestamp};
use subtle::ConstantTimeEq;

use crate::secret::Secret;
use crate::server::listener::{Answer, Client, Handler};
use crate::server::reply::json;
use crate::vault::model::CachedToken;

/// What the endpoint answers for one profile.
pub enum Served {
    Token(CachedToken),
    Failed { message: String, at: Instant },
}

pub type Table = Arc<RwLock<HashMap<String, Served>>>;

/// The request handler: the token table, the key callers must present, and how long
/// a token must still be valid to be handed out.
pub struct Endpoint {
    pub table: Table,
    pub key: Secret,
    pub margin: SignedDuration,
    pub answers: Arc<crate::audit::Answers>,
}

impl Handler for Endpoint {
    fn handle(self: Arc<Self>, request: Request<Incoming>, client: Client) -> Answer {
        let response = self.answer(&request, &client);
        Box::pin(async move { response })
    }
}

impl Endpoint {
    fn answer(&self, request: &Request<Incoming>, client: &Client) -> Response<Full<Bytes>> {
        if !self.authorized(request) {
            let mut response = json(
                StatusCode::UNAUTHORIZED,
                serde_json::json!({"error": "missing or wrong bearer key"}),
            );
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
            return response;
        }
        client.authenticated();
        if request.method() != Method::GET {
            return json(
                StatusCode::METHOD_NOT_ALLOWED,
                serde_json::json!({"error": "only GET /token/PROFILE is served"}),
            );
        }
        let Some(profile) = request.uri().path().strip_prefix("/token/") else {
            return json(
                StatusCode::NOT_FOUND,
                serde_json::json!({"error": "only GET /token/PROFILE is served"}),
            );
        };
        let served = self.table.read().unwrap_or_else(|e| e.into_inner());
        match served.get(profile) {
            Some(Served::Token(token)) if !token.valid_for(self.margin, Timestamp::now()) => json(
                StatusCode::SERVICE_UNAVAILABLE,
                serde_json::json!({"error": "the token is about to expire and no fresh one could be had yet: see the server's log"}),
            ),
            Some(Served::Token(_)) if self.answers.failing() => json(
                StatusCode::SERVICE_UNAVAILABLE,
                serde_json::json!({"error": "the access log cannot be written, so no token is handed out: see the server's log"}),
            ),
            Some(Served::Token(token)) => {
                self.answers.count(client.address.ip(), "key", profile);
                json(
                    StatusCode::OK,
                    serde_json::json!({
                        "access_token": token.token.expose(),
                        "expires_at": crate::display::timestamp(token.expires_at),
                    }),
                )
            }
            Some(Served::Failed { message, .. }) => json(
                StatusCode::SERVICE_UNAVAILABLE,
                serde_json::json!({"error": message}),
            ),
            None => json(
                StatusCode::NOT_FOUND,
                serde_json::json!({"error": format!("profile '{}' is not served", crate::http::printable(profile))}),
            ),
        }
    }

    /// `Authorization: Bearer KEY`, compared in constant time.
    fn authorized(&self, request: &Request<Incoming>) -> bool {
        request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|value| value.as_bytes().strip_prefix(b"Bearer "))
            .is_some_and(|given| bool::from(given.ct_eq(self.key.expose().as_bytes())))
    }
}
