//! A stand-in for Amazon's LWA token endpoint on 127.0.0.1, for tests and benchmarks.
//! It knows the client credentials and refresh tokens it was given, issues numbered
//! access tokens, records every request, and can be told to misbehave.

#![allow(dead_code)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::Query;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

/// One request as the stand-in saw it.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    pub grant_type: String,
    pub client_id: String,
    pub client_secret: String,
    pub refresh_token: String,
    pub code: String,
    pub redirect_uri: String,
    pub scope: String,
}

/// A canned answer that replaces the next request's normal one.
#[derive(Debug, Clone)]
pub struct Canned {
    pub status: u16,
    pub body: Vec<u8>,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub delay: Duration,
}

impl Canned {
    pub fn json(status: u16, body: &str) -> Self {
        Self::raw(status, "application/json", body.as_bytes().to_vec())
    }

    pub fn raw(status: u16, content_type: &'static str, body: Vec<u8>) -> Self {
        Canned {
            status,
            body,
            content_type,
            headers: Vec::new(),
            delay: Duration::ZERO,
        }
    }

    pub fn with_header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }

    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// What the stand-in's consent page does with the next visit.
#[derive(Debug, Clone)]
pub enum Consent {
    /// Redirect to the redirect URI with a code that yields this refresh token.
    Approve {
        client_id: String,
        code: String,
        refresh_token: String,
        selling_partner_id: String,
    },
    /// Redirect with `error=access_denied`.
    Deny,
    /// First send the browser to the app's Login URI (Amazon's hand-off), whose
    /// continuation at /apps/authorize/confirm then approves as above.
    ViaLoginUri {
        login_uri: String,
        then: Box<Consent>,
    },
}

/// One SP-API request as the stand-in saw it.
#[derive(Debug, Clone)]
pub struct SpApiCall {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub access_token: String,
    pub content_type: String,
    pub user_agent: String,
    pub body: String,
}

#[derive(Default)]
struct Inner {
    /// Issued access tokens and the grant they came from ("refresh_token" or the scope).
    grants: HashMap<String, String>,
    spapi_calls: Vec<SpApiCall>,
    spapi_canned: VecDeque<Canned>,
    /// Marketplace ids and country codes GET /sellers/v1/marketplaceParticipations
    /// names as participating.
    participations: Vec<(String, String)>,
    consents: VecDeque<Consent>,
    consent_visits: Vec<HashMap<String, String>>,
    clients: HashMap<String, String>,
    refresh_tokens: HashMap<String, String>,
    codes: HashMap<String, (String, String)>,
    revoked: HashSet<String>,
    canned: VecDeque<Canned>,
    seen: Vec<Seen>,
    issued: u64,
    expires_in: i64,
    latency: Duration,
    permissive: bool,
}

type Shared = Arc<Mutex<Inner>>;

#[derive(Clone)]
pub struct StandIn {
    pub addr: SocketAddr,
    inner: Shared,
}

impl StandIn {
    /// Starts the stand-in on a free port of 127.0.0.1, in a thread of its own.
    pub fn start() -> StandIn {
        Self::start_with(Router::new())
    }

    /// Starts the stand-in with extra routes (consent pages, SP-API calls) merged in.
    pub fn start_with(extra: Router) -> StandIn {
        let inner: Shared = Arc::new(Mutex::new(Inner {
            expires_in: 3600,
            participations: vec![("A1PA6795UKMFR9".into(), "DE".into())],
            ..Inner::default()
        }));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let addr = listener.local_addr().expect("local address");
        let state = inner.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("stand-in runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                let app = Router::new()
                    .route("/auth/o2/token", post(token))
                    .route("/apps/authorize/consent", get(consent))
                    .route("/apps/authorize/confirm", get(consent))
                    .route(
                        "/tokens/2021-03-01/restrictedDataToken",
                        post(restricted_data_token),
                    )
                    // The sandbox host, when a test points SPVAULT_SPAPI_SANDBOX_URL
                    // at BASE/sandbox: its Tokens API answers too.
                    .route(
                        "/sandbox/tokens/2021-03-01/restrictedDataToken",
                        post(restricted_data_token),
                    )
                    .route("/applications/2023-11-30/clientSecret", post(client_secret))
                    .fallback(any_spapi_call)
                    .with_state(state)
                    .merge(extra);
                axum::serve(listener, app).await.expect("stand-in serves");
            });
        });
        StandIn { addr, inner }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn token_url(&self) -> String {
        format!("http://{}/auth/o2/token", self.addr)
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.inner.lock().expect("stand-in state"))
    }

    pub fn add_client(&self, client_id: &str, client_secret: &str) {
        self.with(|s| s.clients.insert(client_id.into(), client_secret.into()));
    }

    pub fn add_refresh_token(&self, client_id: &str, refresh_token: &str) {
        self.with(|s| {
            s.refresh_tokens
                .insert(refresh_token.into(), client_id.into())
        });
    }

    /// An authorization code that, exchanged once, yields `refresh_token`.
    pub fn add_code(&self, client_id: &str, code: &str, refresh_token: &str) {
        self.with(|s| {
            s.codes
                .insert(code.into(), (client_id.into(), refresh_token.into()))
        });
    }

    /// Replaces the next SP-API answer.
    pub fn queue_spapi(&self, canned: Canned) {
        self.with(|s| s.spapi_canned.push_back(canned));
    }

    /// The marketplaces (id, country code) the account participates in.
    pub fn set_participations(&self, marketplaces: &[(&str, &str)]) {
        self.with(|s| {
            s.participations = marketplaces
                .iter()
                .map(|(id, code)| (id.to_string(), code.to_string()))
                .collect()
        });
    }

    pub fn spapi_calls(&self) -> Vec<SpApiCall> {
        self.with(|s| s.spapi_calls.clone())
    }

    /// What the consent page does on its next visit.
    pub fn on_consent(&self, consent: Consent) {
        self.with(|s| s.consents.push_back(consent));
    }

    /// The query of every visit to the consent pages.
    pub fn consent_visits(&self) -> Vec<HashMap<String, String>> {
        self.with(|s| s.consent_visits.clone())
    }

    pub fn revoke(&self, refresh_token: &str) {
        self.with(|s| s.revoked.insert(refresh_token.into()));
    }

    pub fn queue(&self, canned: Canned) {
        self.with(|s| s.canned.push_back(canned));
    }

    pub fn set_expires_in(&self, seconds: i64) {
        self.with(|s| s.expires_in = seconds);
    }

    /// Accepts any client and any refresh token (benchmarks with many profiles).
    pub fn set_permissive(&self, permissive: bool) {
        self.with(|s| s.permissive = permissive);
    }

    pub fn set_latency(&self, latency: Duration) {
        self.with(|s| s.latency = latency);
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.with(|s| s.seen.clone())
    }

    pub fn requests(&self) -> usize {
        self.with(|s| s.seen.len())
    }

    /// The access tokens issued so far are `Atza|standin-1`, `Atza|standin-2`, ...
    pub fn issued(&self) -> u64 {
        self.with(|s| s.issued)
    }
}

fn oauth_error(status: StatusCode, code: &str, description: &str) -> Response {
    let body = serde_json::json!({"error": code, "error_description": description});
    (status, axum::Json(body)).into_response()
}

fn canned_response(canned: Canned) -> Response {
    let mut response = Response::new(axum::body::Body::from(canned.body));
    *response.status_mut() = StatusCode::from_u16(canned.status).expect("valid status");
    response.headers_mut().insert(
        "content-type",
        HeaderValue::from_static(canned.content_type),
    );
    for (name, value) in canned.headers {
        response
            .headers_mut()
            .insert(name, HeaderValue::from_str(&value).expect("header value"));
    }
    response
}

async fn token(State(state): State<Shared>, headers: HeaderMap, body: String) -> Response {
    let is_json = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let form: HashMap<String, String> = if is_json {
        serde_json::from_str(&body).unwrap_or_default()
    } else {
        url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect()
    };
    let field = |name: &str| form.get(name).cloned().unwrap_or_default();
    let seen = Seen {
        grant_type: field("grant_type"),
        client_id: field("client_id"),
        client_secret: field("client_secret"),
        refresh_token: field("refresh_token"),
        code: field("code"),
        redirect_uri: field("redirect_uri"),
        scope: field("scope"),
    };
    let (canned, latency) = {
        let mut s = state.lock().expect("stand-in state");
        s.seen.push(seen.clone());
        (s.canned.pop_front(), s.latency)
    };
    tokio::time::sleep(latency).await;
    if let Some(canned) = canned {
        tokio::time::sleep(canned.delay).await;
        return canned_response(canned);
    }
    let mut s = state.lock().expect("stand-in state");
    if !s.permissive && s.clients.get(&seen.client_id) != Some(&seen.client_secret) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed",
        );
    }
    let refresh_token = match seen.grant_type.as_str() {
        "refresh_token" => {
            let known =
                s.permissive || s.refresh_tokens.get(&seen.refresh_token) == Some(&seen.client_id);
            if !known || s.revoked.contains(&seen.refresh_token) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "The request has an invalid grant parameter : refresh_token",
                );
            }
            None
        }
        "authorization_code" => match s.codes.remove(&seen.code) {
            Some((client, refresh)) if client == seen.client_id => {
                s.refresh_tokens.insert(refresh.clone(), client);
                Some(refresh)
            }
            _ => {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "The request has an invalid grant parameter : code",
                );
            }
        },
        "client_credentials" => None,
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "unsupported grant type",
            );
        }
    };
    s.issued += 1;
    let access_token = format!("Atza|standin-{}", s.issued);
    let grant = if seen.grant_type == "client_credentials" {
        seen.scope.clone()
    } else {
        "refresh_token".to_owned()
    };
    s.grants.insert(access_token.clone(), grant);
    let mut body = serde_json::json!({
        "access_token": access_token,
        "token_type": "bearer",
        "expires_in": s.expires_in,
    });
    if let Some(refresh) = refresh_token {
        body["refresh_token"] = serde_json::Value::String(refresh);
    }
    (StatusCode::OK, axum::Json(body)).into_response()
}

fn redirect(location: &str) -> Response {
    let mut response = Response::new(axum::body::Body::empty());
    *response.status_mut() = StatusCode::FOUND;
    response.headers_mut().insert(
        "location",
        HeaderValue::from_str(location).expect("location"),
    );
    response
}

fn with_query(base: &str, pairs: &[(&str, &str)]) -> String {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}{query}")
}

/// Plays Seller Central's consent page (and the confirmation after a Login-URI hand-off).
async fn consent(
    State(state): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let next = {
        let mut s = state.lock().expect("stand-in state");
        s.consent_visits.push(query.clone());
        s.consents.pop_front()
    };
    let field = |name: &str| query.get(name).cloned().unwrap_or_default();
    let Some(next) = next else {
        return (StatusCode::NOT_FOUND, "no consent expected").into_response();
    };
    let redirect_uri = field("redirect_uri");
    match next {
        Consent::Approve {
            client_id,
            code,
            refresh_token,
            selling_partner_id,
        } => {
            state
                .lock()
                .expect("stand-in state")
                .codes
                .insert(code.clone(), (client_id, refresh_token));
            redirect(&with_query(
                &redirect_uri,
                &[
                    ("state", &field("state")),
                    ("selling_partner_id", &selling_partner_id),
                    ("spapi_oauth_code", &code),
                ],
            ))
        }
        Consent::Deny => redirect(&with_query(
            &redirect_uri,
            &[
                ("error", "access_denied"),
                ("error_description", "The seller declined"),
                ("state", &field("state")),
            ],
        )),
        Consent::ViaLoginUri { login_uri, then } => {
            state
                .lock()
                .expect("stand-in state")
                .consents
                .push_front(*then);
            redirect(&with_query(
                &login_uri,
                &[
                    ("amazon_callback_uri", "/apps/authorize/confirm"),
                    ("amazon_state", "amazon-state-1"),
                    ("selling_partner_id", "A3STANDIN"),
                ],
            ))
        }
    }
}

fn spapi_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({"errors": [{"code": code, "message": message, "details": ""}]});
    (status, axum::Json(body)).into_response()
}

/// Records an SP-API call; returns a canned answer if one is queued, else the grant
/// the access token came from (`None` for an unknown token).
fn spapi_call(
    state: &Shared,
    request: (&str, &str, Vec<(String, String)>),
    headers: &HeaderMap,
    body: String,
) -> Result<Option<String>, Box<Response>> {
    let (method, path, query) = request;
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let mut s = state.lock().expect("stand-in state");
    let call = SpApiCall {
        method: method.to_owned(),
        path: path.to_owned(),
        query,
        access_token: header("x-amz-access-token"),
        content_type: header("content-type"),
        user_agent: header("user-agent"),
        body,
    };
    let grant = s.grants.get(&call.access_token).cloned();
    s.spapi_calls.push(call);
    match s.spapi_canned.pop_front() {
        Some(canned) => Err(Box::new(canned_response(canned))),
        None => Ok(grant),
    }
}

/// Plays the Tokens API: a restricted data token for any seller access token.
async fn restricted_data_token(
    State(state): State<Shared>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    let grant = match spapi_call(&state, ("POST", uri.path(), Vec::new()), &headers, body) {
        Ok(grant) => grant,
        Err(canned) => return *canned,
    };
    let permissive = state.lock().expect("stand-in state").permissive;
    if !permissive && grant.as_deref() != Some("refresh_token") {
        return spapi_error(
            StatusCode::FORBIDDEN,
            "Unauthorized",
            "Access to requested resource is denied.",
        );
    }
    let mut s = state.lock().expect("stand-in state");
    let token = format!("Atz.sprdt|standin-rdt-{}", s.spapi_calls.len());
    s.grants
        .insert(token.clone(), "restricted_data_token".into());
    let body = serde_json::json!({"restrictedDataToken": token, "expiresIn": 3600});
    (StatusCode::OK, axum::Json(body)).into_response()
}

/// Plays the Application Management API: 204 for a rotation-scoped grantless token.
async fn client_secret(State(state): State<Shared>, headers: HeaderMap, body: String) -> Response {
    let grant = match spapi_call(
        &state,
        ("POST", "/applications/2023-11-30/clientSecret", Vec::new()),
        &headers,
        body,
    ) {
        Ok(grant) => grant,
        Err(canned) => return *canned,
    };
    if grant.as_deref() != Some("sellingpartnerapi::client_credential:rotation") {
        return spapi_error(
            StatusCode::FORBIDDEN,
            "Unauthorized",
            "Access to requested resource is denied.",
        );
    }
    StatusCode::NO_CONTENT.into_response()
}

/// Plays any other SP-API operation: a canned answer if one is queued; else the
/// marketplace participations, or a payload naming the path. A seller access token
/// is needed, and for getOrderAddress a restricted data token (any token when
/// permissive).
async fn any_spapi_call(
    State(state): State<Shared>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    let query = url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    let path = uri.path().to_owned();
    let grant = match spapi_call(&state, (method.as_str(), &path, query), &headers, body) {
        Ok(grant) => grant,
        Err(canned) => return *canned,
    };
    let restricted = path.ends_with("/address");
    let permissive = state.lock().expect("stand-in state").permissive;
    let accepted = permissive
        || match grant.as_deref() {
            Some("restricted_data_token") => true,
            Some("refresh_token") => !restricted,
            // Grantless: the Notifications API takes a token of its scope.
            Some("sellingpartnerapi::notifications") => path.starts_with("/notifications/"),
            _ => false,
        };
    if !accepted {
        return spapi_error(
            StatusCode::FORBIDDEN,
            "Unauthorized",
            "Access to requested resource is denied.",
        );
    }
    if path.ends_with("/sellers/v1/marketplaceParticipations") {
        let s = state.lock().expect("stand-in state");
        let payload: Vec<serde_json::Value> = s
            .participations
            .iter()
            .map(|(id, code)| {
                serde_json::json!({
                    "marketplace": {
                        "id": id,
                        "countryCode": code,
                        "name": format!("Amazon {code}"),
                        "defaultCurrencyCode": "EUR",
                        "defaultLanguageCode": "de_DE",
                        "domainName": format!("www.amazon.{}", code.to_ascii_lowercase()),
                    },
                    "storeName": "Stand-in Store",
                    "participation": {"isParticipating": true, "hasSuspendedListings": false}
                })
            })
            .collect();
        return (
            StatusCode::OK,
            axum::Json(serde_json::json!({"payload": payload})),
        )
            .into_response();
    }
    let mut payload = serde_json::json!({"path": path});
    // getOrderAddress, as Amazon's SDKs expect its answer.
    if let Some(order) = path
        .strip_prefix("/orders/v0/orders/")
        .and_then(|rest| rest.strip_suffix("/address"))
    {
        payload["AmazonOrderId"] = order.into();
        payload["ShippingAddress"] = serde_json::json!({
            "Name": "Stand-in Buyer", "AddressLine1": "1 Test Street", "City": "Berlin", "CountryCode": "DE"
        });
    }
    (
        StatusCode::OK,
        axum::Json(serde_json::json!({ "payload": payload })),
    )
        .into_response()
}
