//! What `vault proxy` answers: SP-API requests with no credential in them, sent on
//! to the profile's own SP-API host with the real access token (or a Restricted
//! Data Token where the operation needs one), paced to the operation's usage plan;
//! its own LWA and Tokens endpoints, which hand out proxy tokens only; and metrics.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{HeaderMap, Method, Request, Response, StatusCode, header};
use jiff::{SignedDuration, Timestamp};

use super::credentials::{ACCESS_LIFETIME, Caller, Credentials};
use super::limits::Limits;
use super::metrics::Metrics;
use super::upstream::Upstream;
use crate::api::operations::{self, Operation, Restriction};
use crate::api::restricted::parse_resource;
use crate::http::SecretPieces;
use crate::secret::Secret;
use crate::serve::{Served, Table};
use crate::server::listener::{Answer, Client, Handler};
use crate::server::reply::{Reply, json, text};
use crate::spapi_client::{RestrictedResource, SpApiClient};

/// The largest request body taken from a client (SP-API's are far smaller).
const MAX_REQUEST_BYTES: usize = 10 * 1024 * 1024;
/// The Tokens API's createRestrictedDataToken, which the proxy answers itself.
const RDT_PATH: &str = "/tokens/2021-03-01/restrictedDataToken";
/// Where a client names the data elements of a restricted operation.
const DATA_ELEMENTS_HEADER: &str = "x-spvault-data-elements";
/// A Restricted Data Token is reused while it has this much left.
const RDT_MARGIN: SignedDuration = SignedDuration::from_secs(60);
/// Headers of one hop, never passed on (RFC 9110 §7.6.1), and those the proxy sets.
const NOT_FORWARDED: [&str; 11] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "authorization",
];

/// One served profile: where its requests go, and whose usage plans they count
/// against (Amazon meters per app and selling partner).
pub struct Route {
    /// For the Tokens API.
    pub client: SpApiClient,
    /// For the requests passed on.
    pub upstream: Upstream,
    /// The app's client id and the selling partner id (the profile's name where
    /// the seller id is unknown).
    pub meter: String,
}

pub struct Proxy {
    pub table: Table,
    pub routes: HashMap<String, Route>,
    pub credentials: Credentials,
    pub limits: Limits,
    pub metrics: Metrics,
    pub max_wait: Duration,
    pub log_requests: bool,
    /// Restricted Data Tokens got for requests, reused for the same resource.
    pub restricted: Mutex<HashMap<String, (Secret, Timestamp)>>,
    /// The pieces of the tokens in use, looked for in every answer: made once per set
    /// of tokens, not per request (looked up per request: foldhash, not SipHash).
    pub pieces: Mutex<HashMap<Vec<u8>, Arc<SecretPieces>, foldhash::fast::RandomState>>,
    /// The access log's counts of requests sent with a profile's credentials.
    pub answers: Arc<crate::audit::Answers>,
}

/// The most sets of token pieces kept (a set per access token and RDT in use).
const MAX_PIECE_SETS: usize = 64;

impl Handler for Proxy {
    fn handle(self: Arc<Self>, request: Request<Incoming>, client: Client) -> Answer {
        Box::pin(async move { self.answer(request, client).await })
    }
}

/// What one request was, for the log line and the metrics.
struct Outcome<'a> {
    /// A served profile's name (`None` until the request names one).
    profile: Option<&'a str>,
    operation: String,
    waited: Duration,
    upstream: Option<Duration>,
}

impl Proxy {
    async fn answer(&self, request: Request<Incoming>, client: Client) -> Reply {
        let mut outcome = Outcome {
            profile: None,
            operation: "-".into(),
            waited: Duration::ZERO,
            upstream: None,
        };
        let reply = self.route(request, &client, &mut outcome).await;
        let status = reply.status().as_u16();
        if let Some(profile) = outcome.profile {
            self.metrics.request(profile, &outcome.operation, status);
        }
        if !self.log_requests {
            return reply;
        }
        let line = format!(
            "vault proxy: {} {} {} {status} waited={}ms upstream={}\n",
            client.address.ip(),
            outcome.profile.unwrap_or("-"),
            outcome.operation,
            outcome.waited.as_millis(),
            outcome
                .upstream
                .map_or_else(|| "-".to_owned(), |d| format!("{}ms", d.as_millis()))
        );
        // One write: stderr is unbuffered, and eprintln! writes each piece apart.
        let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), line.as_bytes());
        reply
    }

    async fn route<'a>(
        &'a self,
        request: Request<Incoming>,
        client: &Client,
        outcome: &mut Outcome<'a>,
    ) -> Reply {
        // Not an open proxy: only origin-form paths, only to the profile's host.
        if request.method() == Method::CONNECT
            || request.uri().authority().is_some()
            || request.uri().path().starts_with("//")
        {
            return errors(
                StatusCode::BAD_REQUEST,
                "InvalidInput",
                "the proxy sends requests only to the profile's own SP-API host: give a path like /orders/v0/orders, not a host",
            );
        }
        if request.method() == Method::POST && request.uri().path() == "/auth/o2/token" {
            return self.lwa_token(request, client).await;
        }
        let Some(caller) = presented(request.headers()).and_then(|p| self.credentials.identify(p))
        else {
            return errors(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "send the proxy key, or a token from the proxy's /auth/o2/token, as x-amz-access-token or Authorization: Bearer",
            );
        };
        client.authenticated();
        if request.uri().path() == "/_spvault/metrics" {
            return text(StatusCode::OK, self.metrics.render(self.limits.shared_up()));
        }
        let (parts, body) = request.into_parts();
        let body = match Limited::new(body, MAX_REQUEST_BYTES).collect().await {
            Ok(body) => body.to_bytes(),
            Err(_) => {
                return errors(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "InvalidInput",
                    "the request body is too large or was cut off",
                );
            }
        };
        let routed = self.profile_of(parts.uri.path());
        if parts.method == Method::POST
            && routed.as_ref().map_or(parts.uri.path(), |(_, path)| path) == RDT_PATH
        {
            outcome.operation = "createRestrictedDataToken".into();
            let profile = routed.map(|(profile, _)| profile);
            return self
                .restricted_data_token(profile, &body, client, outcome)
                .await;
        }
        let Some((profile, path)) = routed else {
            return errors(
                StatusCode::NOT_FOUND,
                "NotFound",
                "no served profile in the path: send requests to /PROFILE/... (with one profile, / works too)",
            );
        };
        outcome.profile = Some(profile);
        let operation = operations::find(parts.method.as_str(), path);
        outcome.operation = operation.map_or_else(|| "unknown".to_owned(), Operation::name);
        let Some(access) = self.access_token(profile) else {
            return errors(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                &format!(
                    "profile '{profile}' has no valid access token right now: see the proxy's log"
                ),
            );
        };
        if self.answers.failing() {
            return errors(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                "the access log cannot be written, so no credential is used: see the proxy's log",
            );
        }
        let presented = match caller {
            Caller::Trusted => "key",
            Caller::Restricted { .. } => "restricted_data_token",
        };
        self.answers.count(client.address.ip(), presented, profile);
        let rdt: Secret;
        let token = match (&caller, operation.map(|op| op.restriction)) {
            (
                Caller::Restricted {
                    profile: theirs,
                    real,
                },
                _,
            ) if theirs == profile => real,
            (Caller::Restricted { .. }, _) => {
                return errors(
                    StatusCode::FORBIDDEN,
                    "Unauthorized",
                    "this Restricted Data Token is for another profile",
                );
            }
            // Always restricted, or restricted because the client names data elements.
            (
                Caller::Trusted,
                Some(restriction @ (Restriction::Always | Restriction::WithDataElements)),
            ) if restriction == Restriction::Always
                || parts.headers.contains_key(DATA_ELEMENTS_HEADER) =>
            {
                match self
                    .rdt_for(
                        profile,
                        &access,
                        &parts.method,
                        path,
                        &parts.headers,
                        client,
                    )
                    .await
                {
                    Ok(token) => {
                        rdt = token;
                        &rdt
                    }
                    Err(reply) => return reply,
                }
            }
            (Caller::Trusted, _) => &access,
        };
        let call = Call {
            profile,
            operation,
            method: parts.method.clone(),
            path,
            query: parts.uri.query(),
            headers: &parts.headers,
            body,
        };
        let reply = self.send(&call, token, &[&access], outcome).await;
        if reply.status() == StatusCode::FORBIDDEN
            && operation.is_some_and(|op| op.restriction == Restriction::AfterDenial)
            && matches!(caller, Caller::Trusted)
        {
            // A restricted report type: once more with a Restricted Data Token.
            return match self
                .rdt_for(profile, &access, &call.method, path, call.headers, client)
                .await
            {
                Ok(rdt) => self.send(&call, &rdt, &[&access], outcome).await,
                Err(reply) => reply,
            };
        }
        reply
    }

    /// The served profile a path is for, and the SP-API path under it.
    fn profile_of<'s, 'p>(&'s self, path: &'p str) -> Option<(&'s str, &'p str)> {
        let trimmed = path.trim_start_matches('/');
        let (first, under) = match trimmed.find('/') {
            Some(slash) => (&trimmed[..slash], &trimmed[slash..]),
            None => (trimmed, "/"),
        };
        if let Some((name, _)) = self.routes.get_key_value(first) {
            return Some((name.as_str(), under));
        }
        let mut names = self.routes.keys();
        match (names.next(), names.next()) {
            (Some(only), None) => Some((only.as_str(), path)),
            _ => None,
        }
    }

    /// The profile's current access token, while it has not expired.
    fn access_token(&self, profile: &str) -> Option<Secret> {
        let table = self.table.read().unwrap_or_else(|e| e.into_inner());
        match table.get(profile) {
            Some(Served::Token(token))
                if token.valid_for(SignedDuration::ZERO, Timestamp::now()) =>
            {
                Some(token.token.clone())
            }
            _ => None,
        }
    }

    /// `POST /auth/o2/token` as LWA answers it, for SDKs configured with the key as
    /// their refresh token: a proxy token, never a real one.
    async fn lwa_token(&self, request: Request<Incoming>, client: &Client) -> Reply {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("json"));
        let body = match Limited::new(request.into_body(), 64 * 1024).collect().await {
            Ok(body) => body.to_bytes(),
            Err(_) => Bytes::new(),
        };
        let field = |name: &str| -> Option<String> {
            if is_json {
                serde_json::from_slice::<serde_json::Value>(&body)
                    .ok()?
                    .get(name)?
                    .as_str()
                    .map(str::to_owned)
            } else {
                url::form_urlencoded::parse(&body)
                    .find(|(key, _)| key == name)
                    .map(|(_, value)| value.into_owned())
            }
        };
        let grant_type = field("grant_type");
        let refresh_token = field("refresh_token").unwrap_or_default();
        if grant_type.as_deref() != Some("refresh_token")
            || !self.credentials.is_key(&refresh_token)
        {
            let mut reply = errors(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "the proxy's token endpoint takes grant_type=refresh_token with the proxy key as refresh_token",
            );
            *reply.body_mut() = Full::new(Bytes::from(
                serde_json::json!({
                    "error": "invalid_grant",
                    "error_description": "the refresh token is not this proxy's key",
                    "errors": [{"code": "Unauthorized", "message": "the refresh token is not this proxy's key"}],
                })
                .to_string(),
            ));
            return reply;
        }
        client.authenticated();
        let token = self.credentials.issue_access();
        self.metrics.token("proxy_access_token");
        json(
            StatusCode::OK,
            serde_json::json!({
                "access_token": token.expose(),
                "token_type": "bearer",
                "expires_in": ACCESS_LIFETIME.as_secs(),
            }),
        )
    }

    /// `POST /tokens/2021-03-01/restrictedDataToken` from client code: a real RDT
    /// is got for the same resources, and a proxy token that stands for it answered.
    async fn restricted_data_token<'a>(
        &'a self,
        profile: Option<&'a str>,
        body: &[u8],
        peer: &Client,
        outcome: &mut Outcome<'a>,
    ) -> Reply {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Asked {
            restricted_resources: Vec<AskedResource>,
            target_application: Option<String>,
        }
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct AskedResource {
            method: String,
            path: String,
            #[serde(default)]
            data_elements: Vec<String>,
        }
        let asked: Asked = match serde_json::from_slice(body) {
            Ok(asked) => asked,
            Err(_) => {
                return errors(
                    StatusCode::BAD_REQUEST,
                    "InvalidInput",
                    "the body is not a createRestrictedDataToken request",
                );
            }
        };
        if asked.target_application.is_some() {
            return errors(
                StatusCode::BAD_REQUEST,
                "InvalidInput",
                "targetApplication is not taken through the proxy: another app cannot use a proxy token (use `vault rdt --target-application`)",
            );
        }
        // SDKs that know only the proxy's base URL ask at its origin, with the
        // profile's prefix in each resource's path: it names the profile.
        let mut profile = profile;
        let mut resources = Vec::new();
        for asked in &asked.restricted_resources {
            let (prefix, path) = match self.profile_of(&asked.path) {
                Some((named, path)) if asked.path.starts_with(&format!("/{named}/")) => {
                    (Some(named), path)
                }
                _ => (None, asked.path.as_str()),
            };
            match (profile, prefix) {
                (Some(one), Some(other)) if one != other => {
                    return errors(
                        StatusCode::BAD_REQUEST,
                        "InvalidInput",
                        "the restrictedResources are for more than one profile",
                    );
                }
                (None, Some(named)) => profile = Some(named),
                _ => {}
            }
            resources.push(parse_resource(
                &format!("{} {path}", asked.method),
                &asked.data_elements,
            ));
        }
        let Some(profile) = profile else {
            return errors(
                StatusCode::NOT_FOUND,
                "NotFound",
                "no served profile named: ask at /PROFILE/tokens/2021-03-01/restrictedDataToken",
            );
        };
        outcome.profile = Some(profile);
        let resources: Result<Vec<RestrictedResource>, String> = resources.into_iter().collect();
        let resources = match resources {
            Ok(resources) if !resources.is_empty() => resources,
            Ok(_) => {
                return errors(
                    StatusCode::BAD_REQUEST,
                    "InvalidInput",
                    "no restrictedResources",
                );
            }
            Err(e) => return errors(StatusCode::BAD_REQUEST, "InvalidInput", &e),
        };
        let Some(access) = self.access_token(profile) else {
            return errors(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                &format!("profile '{profile}' has no valid access token right now"),
            );
        };
        let client = &self.routes[profile].client;
        match client
            .restricted_data_token(&access, &resources, None)
            .await
        {
            Ok(issued) => {
                if let Some(refused) = self.refused_by_log(profile, &resources, peer) {
                    return refused;
                }
                self.metrics.token("restricted_data_token");
                let left = Timestamp::now().duration_until(issued.expires_at);
                let lifetime = Duration::try_from(left).unwrap_or_default();
                let proxy_token =
                    self.credentials
                        .issue_restricted(profile, issued.token, lifetime);
                json(
                    StatusCode::OK,
                    serde_json::json!({
                        "restrictedDataToken": proxy_token.expose(),
                        "expiresIn": lifetime.as_secs(),
                    }),
                )
            }
            Err(e) => errors(
                StatusCode::BAD_GATEWAY,
                "RestrictedDataTokenFailed",
                &crate::http::sanitize(&e.to_string(), &[access.expose()]),
            ),
        }
    }

    /// Records an RDT obtained for `client`; when that cannot be written, the answer
    /// that refuses to use it.
    fn refused_by_log(
        &self,
        profile: &str,
        resources: &[RestrictedResource],
        client: &Client,
    ) -> Option<Reply> {
        let mut entry = crate::audit::Entry::rdt(profile, resources);
        entry.who = crate::audit::Who::Client {
            client: client.address.ip().to_string(),
            key: "key".into(),
        };
        let error = self.answers.log().record(entry).err()?;
        eprintln!("vault proxy: {error}");
        Some(errors(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "the access log cannot be written, so no restricted data token is handed out: see the proxy's log",
        ))
    }

    /// A Restricted Data Token for exactly this method and path (and the data
    /// elements the client named), reused while it stays valid.
    async fn rdt_for(
        &self,
        profile: &str,
        access: &Secret,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
        peer: &Client,
    ) -> Result<Secret, Reply> {
        let elements: Vec<String> = headers
            .get(DATA_ELEMENTS_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(',')
                    .map(|e| e.trim().to_owned())
                    .filter(|e| !e.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let resource = parse_resource(&format!("{method} {path}"), &elements)
            .map_err(|e| errors(StatusCode::BAD_REQUEST, "InvalidInput", &e))?;
        let key = format!("{profile} {method} {path} {}", elements.join(","));
        let now = Timestamp::now();
        if let Some((token, expires_at)) = self
            .restricted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            && now.duration_until(*expires_at) > RDT_MARGIN
        {
            return Ok(token.clone());
        }
        let client = &self.routes[profile].client;
        let issued = client
            .restricted_data_token(access, std::slice::from_ref(&resource), None)
            .await
            .map_err(|e| {
                errors(
                    StatusCode::BAD_GATEWAY,
                    "RestrictedDataTokenFailed",
                    &crate::http::sanitize(&e.to_string(), &[access.expose()]),
                )
            })?;
        if let Some(refused) = self.refused_by_log(profile, std::slice::from_ref(&resource), peer) {
            return Err(refused);
        }
        self.metrics.token("restricted_data_token");
        let mut cache = self.restricted.lock().unwrap_or_else(|e| e.into_inner());
        cache.retain(|_, (_, expires_at)| now.duration_until(*expires_at) > RDT_MARGIN);
        cache.insert(key, (issued.token.clone(), issued.expires_at));
        Ok(issued.token)
    }

    /// Sends `call` upstream with `token`, paced to its operation's usage plan: it
    /// waits its turn up to `--max-wait` (else 429 with `Retry-After`), and after an
    /// upstream 429 waits for the bucket's next token and sends it again.
    async fn send(
        &self,
        call: &Call<'_>,
        token: &Secret,
        also_secret: &[&Secret],
        outcome: &mut Outcome<'_>,
    ) -> Reply {
        let route = &self.routes[call.profile];
        let paced = call
            .operation
            .and_then(|op| op.usage_plan.map(|plan| (op, plan)));
        let bucket = paced.map(|(op, _)| format!("{}:{}", route.meter, op.qualified_name()));
        loop {
            if let (Some((_, plan)), Some(bucket)) = (paced, &bucket) {
                let left = self.max_wait.saturating_sub(outcome.waited);
                match self.limits.reserve(bucket, plan, left).await {
                    Ok(wait) => {
                        tokio::time::sleep(wait).await;
                        outcome.waited += wait;
                    }
                    Err(needed) => {
                        self.metrics.waited(&outcome.operation, outcome.waited);
                        let mut reply = errors(
                            StatusCode::TOO_MANY_REQUESTS,
                            "QuotaExceeded",
                            &format!(
                                "{} is paced to its usage plan ({} requests/s, burst {}): its next turn is more than --max-wait away",
                                outcome.operation, plan.rate, plan.burst
                            ),
                        );
                        let seconds = needed.as_secs_f64().ceil().max(1.0) as u64;
                        reply
                            .headers_mut()
                            .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
                        return reply;
                    }
                }
            }
            let started = Instant::now();
            let answer = self.upstream(call, token, also_secret).await;
            let latency = started.elapsed();
            outcome.upstream = Some(outcome.upstream.unwrap_or_default() + latency);
            let reply = match answer {
                Ok(reply) => reply,
                Err(why) => {
                    return errors(StatusCode::BAD_GATEWAY, "UpstreamFailed", &why);
                }
            };
            self.metrics
                .upstream(&outcome.operation, reply.status().as_u16(), latency);
            match (&paced, &bucket) {
                (Some((_, plan)), Some(bucket))
                    if reply.status() == StatusCode::TOO_MANY_REQUESTS =>
                {
                    self.limits.drain(bucket, *plan).await;
                }
                _ => {
                    self.metrics.waited(&outcome.operation, outcome.waited);
                    return reply;
                }
            }
        }
    }

    /// The pieces of `secrets`, made once for each set of them.
    fn pieces_of(&self, secrets: &[&str]) -> Arc<SecretPieces> {
        let key = secrets.join("\0").into_bytes();
        let mut sets = self.pieces.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(pieces) = sets.get(&key) {
            return pieces.clone();
        }
        if sets.len() >= MAX_PIECE_SETS {
            sets.clear();
        }
        let pieces = Arc::new(SecretPieces::of(secrets));
        sets.insert(key, pieces.clone());
        pieces
    }

    /// One request to the profile's SP-API host, and its answer with every real token
    /// cut out.
    async fn upstream(
        &self,
        call: &Call<'_>,
        token: &Secret,
        also_secret: &[&Secret],
    ) -> Result<Reply, String> {
        let route = &self.routes[call.profile];
        let mut url = route.client.url(call.path);
        url.set_query(call.query);
        let mut headers = HeaderMap::with_capacity(call.headers.len() + 1);
        for (name, value) in call.headers {
            let name_text = name.as_str();
            if NOT_FORWARDED.contains(&name_text)
                || name_text == "x-amz-access-token"
                || name_text.starts_with("x-spvault-")
            {
                continue;
            }
            headers.append(name.clone(), value.clone());
        }
        let mut access = header::HeaderValue::from_str(token.expose())
            .map_err(|_| "the access token cannot be sent as a header".to_owned())?;
        access.set_sensitive(true);
        headers.insert("x-amz-access-token", access);
        let answer = route
            .upstream
            .send(
                call.method.clone(),
                url,
                headers,
                call.body.clone(),
                crate::api::MAX_RESPONSE_BYTES,
            )
            .await
            .map_err(|why| {
                // Only the path differs from the client's own base: the same origin.
                let origin = route.client.url("/").origin().ascii_serialization();
                format!("{origin}: {why}")
            })?;
        let (status, headers, body) = (answer.status, answer.headers, answer.body);
        let secrets: Vec<&str> = std::iter::once(token)
            .chain(also_secret.iter().copied())
            .map(Secret::expose)
            .collect();
        let pieces = self.pieces_of(&secrets);
        let body = if pieces.in_text(&body) {
            Bytes::from(crate::api::without_secrets(&body, &secrets))
        } else {
            body
        };
        let mut reply = Response::new(Full::new(body));
        *reply.status_mut() = status;
        for (name, value) in &headers {
            if NOT_FORWARDED.contains(&name.as_str()) {
                continue;
            }
            if !pieces.in_text(value.as_bytes()) {
                reply.headers_mut().append(name.clone(), value.clone());
                continue;
            }
            let clean = crate::http::sanitize(&String::from_utf8_lossy(value.as_bytes()), &secrets);
            if let Ok(value) = header::HeaderValue::from_str(&clean) {
                reply.headers_mut().append(name.clone(), value);
            }
        }
        Ok(reply)
    }
}

/// One request to send on.
struct Call<'a> {
    profile: &'a str,
    operation: Option<&'static Operation>,
    method: Method,
    path: &'a str,
    query: Option<&'a str>,
    headers: &'a HeaderMap,
    body: Bytes,
}

/// The credential a request presents: `x-amz-access-token`, or a bearer token.
fn presented(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("x-amz-access-token")
        .and_then(|v| v.to_str().ok())
        .or_else(|| {
            headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
        })
        .map(str::trim)
}

/// An answer in SP-API's error form: `{"errors": [{"code", "message"}]}`.
fn errors(status: StatusCode, code: &str, message: &str) -> Reply {
    json(
        status,
        serde_json::json!({"errors": [{"code": code, "message": message}]}),
    )
}
