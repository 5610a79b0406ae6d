use std::io::{Read, Write};
use std::path::Path;

use crate::api::restricted::{self, Restriction};
use crate::api::{self, ApiFailure, ApiRequest, ApiResponse, pagination};
use crate::cli::ApiArgs;
use crate::error::{Error, Result};
use crate::settings::Settings;
use crate::spapi_client::{self, SpApiClient, SpApiError};
use crate::vault::file::VaultFile;

/// The largest request body read (SP-API's bodies are far smaller).
const MAX_BODY_BYTES: u64 = 10 * 1024 * 1024;

pub fn run(file: VaultFile, args: ApiArgs, settings: &Settings) -> Result<()> {
    let body = args.body.as_deref().map(read_body).transpose()?;
    let method = args
        .method
        .clone()
        .unwrap_or_else(|| if body.is_some() { "POST" } else { "GET" }.to_owned());
    let parameters = args
        .query
        .iter()
        .map(|p| parse_parameter(p))
        .collect::<Result<Vec<_>>>()?;
    let mut request =
        ApiRequest::new(&method, &args.path, parameters, body).map_err(Error::Invalid)?;
    let restriction = restricted::restriction(request.method.as_str(), &request.path);
    let resource = || {
        spapi_client::parse_resource(
            &format!("{} {}", request.method, request.path),
            &args.data_elements,
        )
        .map_err(Error::Invalid)
    };
    let needs_restricted_token = match restriction {
        Restriction::Always => true,
        Restriction::WithDataElements => !args.data_elements.is_empty(),
        Restriction::None | Restriction::AfterDenial => {
            if !args.data_elements.is_empty() {
                resource()?;
            }
            false
        }
    };
    let resource = if needs_restricted_token || restriction == Restriction::AfterDenial {
        Some(resource()?)
    } else {
        None
    };
    let network = settings.network()?;
    let policy = api::retry_policy(&network);

    let (unlocked, vault, access) =
        super::open_with_access_token(file, &args.profile, &args.freshness, settings)?;
    let profile = vault.profile(&args.profile)?;
    let client = SpApiClient::new(profile.region, profile.sandbox, &network)?;
    let restricted_token = || {
        let resource = resource
            .clone()
            .expect("restricted operations have a resource");
        crate::restricted_tokens::restricted_token(
            &unlocked,
            &vault,
            &args.profile,
            &access.token,
            resource,
            &network,
        )
    };
    let mut restricted_in_use = needs_restricted_token;
    let mut token = if needs_restricted_token {
        restricted_token()?
    } else {
        access.token.clone()
    };
    let runtime = crate::http::runtime().map_err(Error::Other)?;
    let mut pages = 0;
    loop {
        let response = match runtime.block_on(client.call(&token, &request, &policy)) {
            Ok(response) => response,
            Err(ApiFailure {
                error: SpApiError::Forbidden { .. },
                ..
            }) if restriction == Restriction::AfterDenial && !restricted_in_use => {
                token = restricted_token()?;
                restricted_in_use = true;
                continue;
            }
            Err(failure) => {
                let secrets = [access.token.expose(), token.expose()];
                return Err(report_failure(
                    failure,
                    args.include,
                    &secrets,
                    &profile.app,
                ));
            }
        };
        let secrets = [access.token.expose(), token.expose()];
        if args.include {
            print_head(&response, &secrets);
        }
        if !args.paginate {
            return print_body(&without_secrets(&response.body, &secrets));
        }
        let page: serde_json::Value = serde_json::from_slice(&response.body)
            .map_err(|_| SpApiError::BadResponse(format!("page {} is not JSON", pages + 1)))?;
        let line = api::compact_json(&without_secrets(&response.body, &secrets))
            .map_err(|_| SpApiError::BadResponse(format!("page {} is not JSON", pages + 1)))?;
        print_body(line.as_bytes())?;
        pages += 1;
        match pagination::next_page(&request.path, &page) {
            None => return Ok(()),
            Some(_) if pages >= args.max_pages => {
                eprintln!(
                    "note: stopped after {} (--max-pages); more remain",
                    crate::error::count(pages as usize, "page")
                );
                return Ok(());
            }
            Some(next) => request = request.next(&next),
        }
    }
}

/// Reads and checks the JSON request body: a file, or stdin for `-`.
fn read_body(source: &Path) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    let name = if source == Path::new("-") {
        std::io::stdin()
            .take(MAX_BODY_BYTES + 1)
            .read_to_end(&mut body)
            .map_err(|e| Error::Invalid(format!("cannot read the --body from stdin: {e}")))?;
        "stdin".to_owned()
    } else {
        std::fs::File::open(source)
            .and_then(|f| f.take(MAX_BODY_BYTES + 1).read_to_end(&mut body))
            .map_err(|e| Error::io("read the --body file", source, e))?;
        source.display().to_string()
    };
    if body.len() as u64 > MAX_BODY_BYTES {
        return Err(Error::Invalid(format!(
            "the --body from {name} is larger than {} MiB",
            MAX_BODY_BYTES / 1024 / 1024
        )));
    }
    serde_json::from_slice::<serde::de::IgnoredAny>(&body).map_err(|e| {
        Error::Invalid(format!(
            "the --body from {name} is not JSON ({e}): SP-API takes JSON request bodies"
        ))
    })?;
    Ok(body)
}

/// `-q NAME=VALUE` as a query pair.
fn parse_parameter(text: &str) -> Result<(String, String)> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err(Error::Invalid(format!(
            "-q '{}' is not NAME=VALUE, e.g. -q MarketplaceIds=ATVPDKIKX0DER",
            text.escape_debug()
        ))),
    }
}

/// Shows what Amazon answered to a failed call: the status line and headers with
/// `--include`, its `errors[]` on stderr, its body on stdout; returns the error.
fn report_failure(failure: ApiFailure, include: bool, secrets: &[&str], app: &str) -> Error {
    if let Some(response) = &failure.response {
        if include {
            print_head(response, secrets);
        }
        for error in spapi_client::api_errors(&response.body) {
            let details = match &error.details {
                Some(serde_json::Value::String(text)) if !text.is_empty() => format!(" ({text})"),
                None | Some(serde_json::Value::Null) | Some(serde_json::Value::String(_)) => {
                    String::new()
                }
                Some(other) => format!(" ({other})"),
            };
            eprintln!(
                "SP-API error {}",
                crate::http::sanitize(
                    &format!("{}: {}{details}", error.code, error.message),
                    secrets
                )
            );
        }
        if let Err(error) = print_body(&without_secrets(&response.body, secrets)) {
            return error;
        }
    }
    crate::tokens::explain_spapi_error(failure.error, app)
}

/// The status line and headers, as curl's `--include` shows them, on stderr.
fn print_head(response: &ApiResponse, secrets: &[&str]) {
    let mut head = format!(
        "{:?} {} {}\n",
        response.version,
        response.status.as_u16(),
        response.status.canonical_reason().unwrap_or_default()
    );
    for (name, value) in &response.headers {
        let value = crate::http::sanitize(&String::from_utf8_lossy(value.as_bytes()), secrets);
        head.push_str(&format!("{name}: {value}\n"));
    }
    eprintln!("{head}");
}

/// The body with every token spvault sent replaced by `[redacted]`: a server that
/// echoes one must not make spvault print it.
fn without_secrets(body: &[u8], secrets: &[&str]) -> Vec<u8> {
    let mut clean = body.to_vec();
    for secret in secrets
        .iter()
        .map(|s| s.as_bytes())
        .filter(|s| !s.is_empty())
    {
        let mut out = Vec::with_capacity(clean.len());
        let mut rest = clean.as_slice();
        while let Some(at) = rest.windows(secret.len()).position(|w| w == secret) {
            out.extend_from_slice(&rest[..at]);
            out.extend_from_slice(b"[redacted]");
            rest = &rest[at + secret.len()..];
        }
        out.extend_from_slice(rest);
        clean = out;
    }
    clean
}

/// The body as it came, ending in a newline.
fn print_body(body: &[u8]) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    let newline: &[u8] = if body.ends_with(b"\n") || body.is_empty() {
        b""
    } else {
        b"\n"
    };
    stdout
        .write_all(body)
        .and_then(|()| stdout.write_all(newline))
        .and_then(|()| stdout.flush())
        .map_err(|e| Error::Other(format!("cannot write the answer to stdout: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_need_a_name_and_an_equals_sign() {
        assert_eq!(
            parse_parameter("CreatedAfter=2026-01-01T00:00:00Z").unwrap(),
            ("CreatedAfter".into(), "2026-01-01T00:00:00Z".into())
        );
        assert_eq!(parse_parameter("a=b=c").unwrap().1, "b=c");
        assert!(parse_parameter("MarketplaceIds").is_err());
        assert!(parse_parameter("=x").is_err());
    }

    #[test]
    fn echoed_tokens_are_cut_out_of_the_body() {
        assert_eq!(
            without_secrets(
                br#"{"a":"Atza|x1","b":"Atza|x1 Atz.r"}"#,
                &["Atza|x1", "Atz.r"]
            ),
            br#"{"a":"[redacted]","b":"[redacted] [redacted]"}"#
        );
        assert_eq!(without_secrets(b"plain", &["", "zz"]), b"plain");
    }
}
