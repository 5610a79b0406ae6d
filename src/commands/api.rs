use std::io::{IsTerminal, Read, Write};
use std::path::Path;
use std::time::Duration;

use crate::api::jq::Jq;
use crate::api::operations::{self, NameError, Operation, Restriction};
use crate::api::pagination::{self, Next};
use crate::api::restricted::parse_resource;
use crate::api::{self, ApiFailure, ApiRequest, ApiResponse, Pacing, Wait, without_secrets};
use crate::cli::ApiArgs;
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::settings::Settings;
use crate::spapi_client::{self, SpApiClient, SpApiError};
use crate::vault::file::VaultFile;

/// The largest request body read (SP-API's bodies are far smaller).
const MAX_BODY_BYTES: u64 = 10 * 1024 * 1024;

/// What a path parameter's value may hold as it is; the rest is percent-encoded
/// (a SKU may hold `/`, `?`, `#` or spaces).
const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// What Amazon says of an access token it will not take, though it has not expired:
/// one refresh and one more try are worth it.
const TOKEN_NOT_TAKEN: &str = "revoked, malformed or invalid";

pub fn run(file: VaultFile, args: ApiArgs, settings: &Settings) -> Result<()> {
    let (Some(profile_name), Some(target)) = (args.profile.as_deref(), args.target.as_deref())
    else {
        return Err(Error::Invalid(
            "vault api needs a PROFILE and an OPERATION or PATH".into(),
        ));
    };
    let body = args.body.as_deref().map(read_body).transpose()?;
    let (mut request, operation) = resolve(&args, target, body)?;
    // A server's control characters could rewrite the terminal: shown escaped there.
    let raw = args.raw || !std::io::stdout().is_terminal();
    let jq = args
        .jq
        .as_deref()
        .map(Jq::new)
        .transpose()
        .map_err(Error::Invalid)?;
    let restriction = operation.map_or(Restriction::None, |op| op.restriction);
    let resource = || {
        parse_resource(
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
    let operation_name = operation.map_or_else(|| request.path.clone(), Operation::name);
    let mut pacing = Pacing::new(operation, args.max_wait, report_wait);

    let (unlocked, vault, mut access) =
        super::open_with_access_token(file, profile_name, &args.freshness, settings)?;
    let profile = vault.profile(profile_name)?;
    if let Some(scope) = operation.and_then(|op| op.grantless) {
        access = crate::tokens::grantless_token(
            &unlocked,
            &vault,
            &profile.app,
            scope,
            args.freshness.min_valid,
            settings,
        )?;
    }
    let grantless = operation.is_some_and(|op| op.grantless.is_some());
    let client = SpApiClient::new(profile.region, profile.sandbox, &network)?;
    let restricted_token = |access: &Secret| {
        let resource = resource
            .clone()
            .expect("restricted operations have a resource");
        let entry = crate::audit::Entry::rdt(profile_name, std::slice::from_ref(&resource))
            .app(&profile.app)
            .subject(operation_name.clone());
        let token = crate::restricted_tokens::restricted_token(
            &unlocked,
            &vault,
            profile_name,
            access,
            resource,
            &network,
        )?;
        super::log_handout(&unlocked, &vault, entry)?;
        Ok::<_, Error>(token)
    };
    // One entry per answer from Amazon, before any of it is printed.
    let log_call =
        |restricted: bool, status: Option<reqwest::StatusCode>, error: Option<&Error>| {
            let mut entry = crate::audit::Entry::new(crate::audit::Event::Api)
                .profile(profile_name)
                .app(&profile.app)
                .credential(if restricted {
                    "restricted_data_token"
                } else if grantless {
                    "grantless_token"
                } else {
                    "access_token"
                });
            entry.operation = Some(operation_name.clone());
            entry.status = status.map(|s| s.as_u16());
            if let Some(error) = error {
                entry.outcome = error.exit_code().name().into();
            }
            super::log_handout(&unlocked, &vault, entry)
        };
    let mut restricted_in_use = needs_restricted_token;
    let mut token = if needs_restricted_token {
        restricted_token(&access.token)?
    } else {
        access.token.clone()
    };
    let runtime = crate::http::runtime().map_err(Error::Other)?;
    let mut refreshed = false;
    let mut pages = 0;
    loop {
        let answer = runtime.block_on(client.call_paced(
            &token,
            &request,
            &policy,
            &mut pacing,
            &operation_name,
        ));
        let response = match answer {
            Ok(response) => response,
            Err(ApiFailure {
                error: SpApiError::Forbidden { .. },
                ..
            }) if restriction == Restriction::AfterDenial && !restricted_in_use => {
                token = restricted_token(&access.token)?;
                restricted_in_use = true;
                continue;
            }
            Err(failure) if !refreshed && token_not_taken(&failure) => {
                eprintln!(
                    "note: Amazon did not take the cached access token of '{profile_name}'; refreshing it once"
                );
                refreshed = true;
                access = crate::tokens::TokenService::new(&network)?
                    .refresh(&unlocked, &vault, &[profile_name.to_owned()], 1, |_| {})?
                    .outcomes
                    .pop()
                    .map(|outcome| outcome.result)
                    .unwrap_or_else(|| Err(Error::NoSuchProfile(profile_name.to_owned())))?;
                token = if restricted_in_use {
                    restricted_token(&access.token)?
                } else {
                    access.token.clone()
                };
                continue;
            }
            Err(failure) => {
                let secrets = [access.token.expose(), token.expose()];
                let refused_again = refreshed && token_not_taken(&failure);
                let status = failure.response.as_ref().map(|r| r.status);
                let error = report_failure(failure, args.include, &secrets, &profile.app, raw);
                log_call(restricted_in_use, status, Some(&error))?;
                let error = match (refused_again, pages) {
                    (true, _) => error.with_hint(format!(
                        "Amazon refused a fresh access token too; run `vault refresh {profile_name} --force`, and if that fails, `vault login {profile_name}`"
                    )),
                    (false, 0) => error,
                    (false, _) => error.with_hint(format!(
                        "{} printed before this one failed",
                        crate::error::count(pages as usize, "page")
                    )),
                };
                return Err(error);
            }
        };
        log_call(restricted_in_use, Some(response.status), None)?;
        let secrets = [access.token.expose(), token.expose()];
        if args.include {
            print_head(&response, &secrets);
        }
        let clean = without_secrets(&response.body, &secrets);
        if !args.paginate {
            return match &jq {
                Some(jq) => print_lines(&jq.apply(&clean).map_err(Error::Invalid)?, raw),
                None => print_body(&clean, raw),
            };
        }
        let not_json = || SpApiError::BadResponse(format!("page {} is not JSON", pages + 1));
        let page: serde_json::Value =
            serde_json::from_slice(&response.body).map_err(|_| not_json())?;
        match &jq {
            Some(jq) => print_lines(&jq.apply(&clean).map_err(Error::Invalid)?, raw)?,
            None => {
                let line = api::compact_json(&clean).map_err(|_| not_json())?;
                print_body(line.as_bytes(), raw)?;
            }
        }
        pages += 1;
        match pagination::next(operation, &page) {
            Next::Done => return Ok(()),
            Next::Unsendable { place } => {
                return Err(unsendable(place, operation, &request, pages));
            }
            Next::Page(_) if pages >= args.max_pages => {
                eprintln!(
                    "note: stopped after {} (--max-pages); more remain",
                    crate::error::count(pages as usize, "page")
                );
                return Ok(());
            }
            Next::Page(next) => request = request.next(&next),
        }
    }
}

/// `vault api --list [FILTER] [--json]`: the operations whose API, name or path holds
/// FILTER (any case).
pub fn list(filter: &str, json: bool, wide: bool) -> Result<()> {
    let filter = filter.to_ascii_lowercase();
    let chosen: Vec<&Operation> = operations::all()
        .iter()
        .filter(|op| {
            [op.api, op.id, op.path]
                .iter()
                .any(|field| field.to_ascii_lowercase().contains(&filter))
        })
        .collect();
    if json {
        let rows: Vec<serde_json::Value> = chosen
            .iter()
            .map(|op| {
                serde_json::json!({
                    "api": op.api,
                    "version": op.version,
                    "operation": op.id,
                    "name": op.name(),
                    "method": op.method,
                    "path": op.path,
                    "rate": op.usage_plan.map(|p| p.rate),
                    "burst": op.usage_plan.map(|p| p.burst),
                    "restricted": restricted_text(op.restriction),
                    "grantless": op.grantless.is_some(),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&rows).expect("the operations serialize")
        );
        return Ok(());
    }
    if chosen.is_empty() {
        return Err(Error::Invalid(format!(
            "no operation's API, name or path holds '{}'",
            filter.escape_debug()
        ))
        .with_hint("`vault api --list` lists them all"));
    }
    let columns: Vec<super::table::Column> = [
        "OPERATION",
        "METHOD",
        "PATH",
        "RATE",
        "BURST",
        "RESTRICTED",
        "API",
        "VERSION",
    ]
    .into_iter()
    .zip(0..)
    .map(|(header, rank)| super::table::Column { header, rank })
    .collect();
    let rows: Vec<Vec<String>> = chosen
        .iter()
        .map(|op| {
            let (rate, burst) = match op.usage_plan {
                Some(plan) => (plan.rate.to_string(), plan.burst.to_string()),
                None => ("unknown".into(), "unknown".into()),
            };
            vec![
                op.name(),
                op.method.to_owned(),
                op.path.to_owned(),
                rate,
                burst,
                restricted_text(op.restriction).to_owned(),
                op.api.to_owned(),
                op.version.to_owned(),
            ]
        })
        .collect();
    super::table::print(&columns, &rows, wide, "vault api --list");
    Ok(())
}

fn restricted_text(restriction: Restriction) -> &'static str {
    match restriction {
        Restriction::None => "no",
        Restriction::Always => "yes",
        Restriction::WithDataElements => "with data elements",
        Restriction::AfterDenial => "after a 403",
    }
}

/// The request `target` (an operation name or a path) and the parameters make, and
/// the operation it calls when spvault knows it.
fn resolve(
    args: &ApiArgs,
    target: &str,
    body: Option<Vec<u8>>,
) -> Result<(ApiRequest, Option<&'static Operation>)> {
    let mut parameters = args
        .parameters
        .iter()
        .chain(&args.query)
        .map(|p| parse_parameter(p))
        .collect::<Result<Vec<_>>>()?;
    if target.starts_with('/') {
        let method = args
            .method
            .clone()
            .unwrap_or_else(|| if body.is_some() { "POST" } else { "GET" }.to_owned());
        let request = ApiRequest::new(&method, target, parameters, body).map_err(Error::Invalid)?;
        let operation = operations::find(request.method.as_str(), &request.path);
        if operation.is_none() {
            eprintln!(
                "note: {} {} is no operation in Amazon's models that spvault knows: sent as a plain call, without pacing, Restricted Data Token or pagination rules",
                request.method,
                crate::display::escape_controls(&request.path)
            );
        }
        return Ok((request, operation));
    }
    let operation = named_operation(target, args.method.as_deref())?;
    let mut path = String::new();
    for segment in operation.path.split('/').skip(1) {
        path.push('/');
        match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            None => path.push_str(segment),
            Some(name) => {
                let Some(at) = parameters.iter().position(|(given, _)| given == name) else {
                    return Err(Error::Invalid(format!(
                        "{} needs its path parameter {name}",
                        operation.name()
                    ))
                    .with_hint(format!(
                        "give it as {name}=VALUE: `vault api PROFILE {} {}`",
                        operation.name(),
                        operation
                            .path_parameters()
                            .map(|p| format!("{p}=…"))
                            .collect::<Vec<_>>()
                            .join(" ")
                    )));
                };
                let (_, value) = parameters.remove(at);
                path.extend(percent_encoding::utf8_percent_encode(&value, PATH_SEGMENT));
            }
        }
    }
    let query = query_of(operation, parameters)?;
    let request = ApiRequest::new(operation.method, &path, query, body).map_err(Error::Invalid)?;
    Ok((request, Some(operation)))
}

/// The operation `name` names (narrowed to `method` when one is given), or an
/// error listing the names meant.
fn named_operation(name: &str, method: Option<&str>) -> Result<&'static Operation> {
    let suggest = "`vault api --list FILTER` lists the operations";
    match operations::named(name, method) {
        Ok(operation) => Ok(operation),
        Err(NameError::Ambiguous(names)) => Err(Error::Invalid(format!(
            "several operations are named '{}': {}",
            name.escape_debug(),
            names.join(", ")
        ))
        .with_hint("name one of them as shown")),
        Err(NameError::OtherMethod(its)) => Err(Error::Invalid(format!(
            "{} is a {its} operation, not {}",
            name.escape_debug(),
            method
                .unwrap_or_default()
                .to_ascii_uppercase()
                .escape_debug()
        ))
        .with_hint("leave out -X: an operation name brings its method")),
        Err(NameError::Unknown(closest)) if closest.is_empty() => Err(Error::Invalid(format!(
            "'{}' is no SP-API operation spvault knows (nor a path: paths start with /)",
            name.escape_debug()
        ))
        .with_hint(suggest)),
        Err(NameError::Unknown(closest)) => Err(Error::Invalid(format!(
            "'{}' is no SP-API operation spvault knows; the closest: {}",
            name.escape_debug(),
            closest.join(", ")
        ))
        .with_hint(suggest)),
    }
}

/// The query of a call to `operation`: every parameter must be one it takes, a list
/// given twice is joined with commas, and the required ones must be there.
fn query_of(
    operation: &Operation,
    parameters: Vec<(String, String)>,
) -> Result<Vec<(String, String)>> {
    let mut query: Vec<(String, String)> = Vec::new();
    for (name, value) in parameters {
        let Some(taken) = operation.query_parameter(&name) else {
            let known: Vec<&str> = operation.query.iter().map(|q| q.name).collect();
            let closest = known
                .iter()
                .max_by(|a, b| {
                    strsim::jaro_winkler(&name, a).total_cmp(&strsim::jaro_winkler(&name, b))
                })
                .filter(|best| strsim::jaro_winkler(&name, best) > 0.8);
            let takes = match (known.is_empty(), closest) {
                (true, _) => "it takes no query parameters".to_owned(),
                (false, Some(best)) => {
                    format!("did you mean {best}? It takes {}", known.join(", "))
                }
                (false, None) => format!("it takes {}", known.join(", ")),
            };
            return Err(Error::Invalid(format!(
                "{} has no parameter '{}': {takes}",
                operation.name(),
                name.escape_debug()
            )));
        };
        match query.iter_mut().find(|(given, _)| *given == name) {
            Some((_, joined)) if taken.array => {
                joined.push(',');
                joined.push_str(&value);
            }
            Some(_) => {
                return Err(Error::Invalid(format!(
                    "{name} is given twice, and {} takes one value for it",
                    operation.name()
                )));
            }
            None => query.push((name, value)),
        }
    }
    let missing: Vec<&str> = operation
        .query
        .iter()
        .filter(|q| q.required && !query.iter().any(|(given, _)| given == q.name))
        .map(|q| q.name)
        .collect();
    if !missing.is_empty() {
        return Err(Error::Invalid(format!(
            "{} needs {}",
            operation.name(),
            missing
                .iter()
                .map(|name| format!("{name}=…"))
                .collect::<Vec<_>>()
                .join(" ")
        )));
    }
    Ok(query)
}

/// Whether Amazon refused the access token itself (not the call), though spvault
/// held it for valid.
fn token_not_taken(failure: &ApiFailure) -> bool {
    failure.response.as_ref().is_some_and(|response| {
        matches!(response.status.as_u16(), 401 | 403)
            && spapi_client::api_errors(&response.body)
                .iter()
                .any(|e| e.message.contains(TOKEN_NOT_TAKEN))
    })
}

/// The error for a page whose next-page token spvault cannot send back.
fn unsendable(
    place: &str,
    operation: Option<&Operation>,
    request: &ApiRequest,
    pages: u32,
) -> Error {
    let why = match operation {
        Some(op) => format!("{} takes it back in no query parameter", op.name()),
        None => format!(
            "spvault does not know the operation {} {}, so not how to send it back",
            request.method,
            crate::display::escape_controls(&request.path)
        ),
    };
    Error::Other(format!(
        "page {pages} carries a next-page token at {}, but {why}: the pages after it were not fetched",
        pagination::dotted(place)
    ))
    .with_hint("call it without --paginate and send the token yourself")
}

/// On a terminal, says how long a request waits for the usage plan, and why.
fn report_wait(wait: &Wait) {
    if !std::io::stderr().is_terminal() {
        return;
    }
    eprintln!(
        "waiting {} for {}: {}its usage plan allows {} requests/s (burst {})",
        // Rounded up: "1s" for a wait of 1.99 s would undersell it.
        crate::duration::short_std(Duration::from_secs(wait.wait.as_secs_f64().ceil() as u64)),
        wait.operation,
        if wait.throttled {
            "Amazon throttled it; "
        } else {
            ""
        },
        wait.plan.rate,
        wait.plan.burst
    );
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

/// `NAME=VALUE` (an argument or `-q`) as a parameter.
fn parse_parameter(text: &str) -> Result<(String, String)> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err(Error::Invalid(format!(
            "'{}' is not NAME=VALUE, e.g. MarketplaceIds=ATVPDKIKX0DER",
            text.escape_debug()
        ))),
    }
}

/// Shows what Amazon answered to a failed call: the status line and headers with
/// `--include`, its `errors[]` on stderr, its body on stdout (as `print_body` does);
/// returns the error.
fn report_failure(
    failure: ApiFailure,
    include: bool,
    secrets: &[&str],
    app: &str,
    raw: bool,
) -> Error {
    if let Some(response) = &failure.response {
        if include {
            print_head(response, secrets);
        }
        for error in spapi_client::api_errors(&response.body) {
            eprintln!(
                "SP-API error {}",
                crate::http::sanitize(&spapi_client::describe_error(&error), secrets)
            );
        }
        if let Err(error) = print_body(&without_secrets(&response.body, secrets), raw) {
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

/// What `--jq` made of an answer, one value a line.
fn print_lines(lines: &[String], raw: bool) -> Result<()> {
    lines
        .iter()
        .try_for_each(|line| print_body(line.as_bytes(), raw))
}

/// The body, ending in a newline: `raw`, as it came; else as text with its control
/// characters (but line breaks and tabs) escaped.
fn print_body(body: &[u8], raw: bool) -> Result<()> {
    let escaped;
    let body = if raw {
        body
    } else {
        escaped = crate::display::escape_for_terminal(&String::from_utf8_lossy(body));
        escaped.as_bytes()
    };
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
    fn parameters_need_a_name_and_an_equals_sign() {
        assert_eq!(
            parse_parameter("CreatedAfter=2026-01-01T00:00:00Z").unwrap(),
            ("CreatedAfter".into(), "2026-01-01T00:00:00Z".into())
        );
        assert_eq!(parse_parameter("a=b=c").unwrap().1, "b=c");
        assert!(parse_parameter("MarketplaceIds").is_err());
        assert!(parse_parameter("=x").is_err());
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn query_parameters_are_checked_against_the_operation() {
        let get_orders = operations::named("ordersV0.getOrders", None).unwrap();
        let query = query_of(
            get_orders,
            pairs(&[
                ("MarketplaceIds", "A1"),
                ("MarketplaceIds", "A2"),
                ("CreatedAfter", "2026-01-01"),
            ]),
        )
        .unwrap();
        assert_eq!(
            query,
            pairs(&[("MarketplaceIds", "A1,A2"), ("CreatedAfter", "2026-01-01")])
        );
        let typo = query_of(get_orders, pairs(&[("MarketplaceId", "A1")])).unwrap_err();
        assert!(
            typo.to_string().contains("did you mean MarketplaceIds"),
            "{typo}"
        );
        assert!(
            typo.to_string()
                .starts_with("ordersV0.getOrders has no parameter"),
            "{typo}"
        );
        let missing = query_of(get_orders, pairs(&[("CreatedAfter", "x")])).unwrap_err();
        assert!(
            missing.to_string().contains("needs MarketplaceIds=…"),
            "{missing}"
        );
        let twice = query_of(
            get_orders,
            pairs(&[
                ("MarketplaceIds", "A1"),
                ("CreatedAfter", "x"),
                ("CreatedAfter", "y"),
            ]),
        )
        .unwrap_err();
        assert!(twice.to_string().contains("given twice"), "{twice}");
    }
}
