use std::io::BufRead;
use std::sync::mpsc;
use std::time::Instant;

use jiff::Timestamp;
use url::Url;

use super::secret_from_stdin;
use crate::browser::Browser;
use crate::cli::LoginArgs;
use crate::duration;
use crate::error::{Error, Result};
use crate::lwa::consent::{self, Callback, CallbackError, ConsentRequest};
use crate::lwa::listener::{self, Listener};
use crate::lwa::{Grant, TokenGrant};
use crate::secret::Secret;
use crate::settings::{Network, Settings};
use crate::tokens::{self, AppCredentials, TokenService};
use crate::unlock;
use crate::vault::file::VaultFile;
use crate::vault::model::{App, CachedToken, Profile};
use crate::vault::payload::Selection;
use crate::vault::{Unlocked, Vault};
use crate::{browser, passphrase};

/// How many pasted addresses that hold no authorization are tolerated.
const PASTE_ATTEMPTS: usize = 3;

pub fn run(file: VaultFile, args: LoginArgs, settings: &Settings) -> Result<()> {
    // Every profile, for the warning about a refresh token stored twice; a damaged
    // record of another one is no reason to refuse.
    let (unlocked, salvaged) = unlock::open_around_damage(file, Selection::All)?;
    salvaged.require(unlocked.file(), &[&args.profile])?;
    let vault = salvaged.vault;
    let (profile, app) = vault.profile_with_app(&args.profile)?;
    if args.refresh_token_stdin || args.self_authorized {
        let refresh_token = if args.refresh_token_stdin {
            let token = secret_from_stdin("refresh token")?;
            check_refresh_token(token.expose())?;
            token
        } else {
            eprintln!("{}", self_authorization_guide(profile.vendor));
            passphrase::prompt_secret(
                "Refresh token (Atzr|...): ",
                "--refresh-token-stdin",
                check_refresh_token,
            )?
        };
        let service = TokenService::new(&settings.network()?)?;
        let grant = exchange(
            &service,
            &vault,
            &args.profile,
            Grant::RefreshToken(&refresh_token),
        )?;
        if let Some(warning) = crate::health::shared_refresh_token_warning(
            &vault,
            &args.profile,
            refresh_token.expose(),
        ) {
            eprintln!("warning: {warning}");
        }
        return store_authorization(&unlocked, &args.profile, refresh_token, &grant, None, false);
    }
    let network = settings.network()?;
    let service = TokenService::new(&network)?;
    let request = consent_request(profile, app, &network)?;
    let browser = match args.no_browser {
        true => Browser::Off,
        false => Browser::from_setting(settings.browser()),
    };
    let (code, selling_partner_id) = obtain_code(&request, app, &args, &browser)?;
    let grant = exchange(
        &service,
        &vault,
        &args.profile,
        Grant::AuthorizationCode {
            code: &code,
            redirect_uri: app.redirect_uri.as_deref(),
        },
    )?;
    let refresh_token = grant.refresh_token.clone().ok_or_else(|| {
        Error::Other("Amazon's answer to the authorization code held no refresh token".into())
            .with_hint(format!("run `vault login {}` again", args.profile))
    })?;
    store_authorization(
        &unlocked,
        &args.profile,
        refresh_token,
        &grant,
        selling_partner_id,
        true,
    )
}

fn self_authorization_guide(vendor: bool) -> &'static str {
    if vendor {
        "In Vendor Central: Integration > API Integration > Develop Apps, then \"Authorize\" beside your app. Copy the refresh token it shows (it starts with Atzr|)."
    } else {
        "In Seller Central: Apps and Services > Develop Apps, then \"Authorize app\" beside your app (the arrow next to Edit App). Copy the refresh token it shows (it starts with Atzr|)."
    }
}

fn consent_request(profile: &Profile, app: &App, network: &Network) -> Result<ConsentRequest> {
    let host = consent::central_host(
        profile.region,
        profile.marketplace_id.as_deref(),
        profile.vendor,
    );
    Ok(ConsentRequest {
        base: consent::base_url(host, network)?,
        application_id: app.application_id.clone().ok_or_else(|| {
            Error::Invalid(format!(
                "app '{}' has no application id, which the consent page needs",
                profile.app
            ))
            .with_hint(format!(
                "set it with `vault app edit {} --application-id amzn1.sp.solution....`",
                profile.app
            ))
        })?,
        redirect_uri: app.redirect_uri.clone(),
        draft: app.draft,
        state: consent::new_state(),
    })
}

/// The port and path of a loopback redirect URI (`http://127.0.0.1:PORT/...`).
fn loopback_redirect(redirect_uri: Option<&str>) -> Option<(u16, String)> {
    let url = Url::parse(redirect_uri?).ok()?;
    if !crate::net::is_loopback_http(&url) {
        return None;
    }
    Some((url.port_or_known_default()?, url.path().to_owned()))
}

/// Listens for the redirect; when the port is taken, says what to do about it: a
/// port the app's redirect URI names must be freed, another one may be changed.
fn bind(
    port: u16,
    path: &str,
    loopback: &Option<(u16, String)>,
    args: &LoginArgs,
) -> Result<Listener> {
    Listener::bind(port, path).map_err(|e| {
        let hint = match loopback {
            Some(_) => format!(
                "the app's redirect URI sends the browser to port {port}, so only that port works: stop what listens there, then `vault login {}` again",
                args.profile
            ),
            None => "free the port, or choose another with --listen".into(),
        };
        e.with_hint(hint)
    })
}

/// Shows the consent page and waits for the authorization code, by listener or paste.
fn obtain_code(
    request: &ConsentRequest,
    app: &App,
    args: &LoginArgs,
    browser: &Browser,
) -> Result<(Secret, Option<String>)> {
    let deadline = Instant::now() + args.timeout;
    let loopback = loopback_redirect(app.redirect_uri.as_deref());
    let listener = match (args.listen, &loopback) {
        (Some(port), Some((registered, _))) if port != *registered => {
            return Err(Error::Invalid(format!(
                "--listen {port} would never receive the redirect: the app's redirect URI sends the browser to port {registered}"
            ))
            .with_hint(format!("leave --listen out: `vault login {}`", args.profile)));
        }
        (_, Some((port, path))) => Some(bind(*port, path, &loopback, args)?),
        (Some(port), None) => Some(bind(port, "/callback", &loopback, args)?),
        (None, None) => None,
    };
    let _page = show(request.url().as_str(), "the consent page", browser);
    let callback = match &listener {
        Some(listener) => {
            eprintln!(
                "Waiting for the redirect on 127.0.0.1:{} ...",
                listener.port
            );
            listener.wait(request, deadline)?
        }
        None => paste(request, browser, deadline)?,
    };
    match callback {
        Callback::Authorized {
            code,
            selling_partner_id,
        } => Ok((code, selling_partner_id)),
        Callback::HandOff { .. } => Err(Error::Other(
            "the authorization ended at the app's Login URI".into(),
        )),
    }
}

/// Opens `url` in the browser (never as a process argument: it holds the state) and
/// prints it too; the returned page must live until the browser has read it.
fn show(url: &str, what: &str, browser: &Browser) -> Option<browser::ForwardingPage> {
    let page = browser::open_privately(url, browser);
    if page.is_some() {
        eprintln!("Opened {what} in your browser. If it did not open, visit:\n  {url}");
    } else {
        eprintln!("Open {what} in a browser:\n  {url}");
    }
    page
}

/// Asks for the address the browser ended on, following a Login-URI hand-off with a
/// second paste.
fn paste(request: &ConsentRequest, browser: &Browser, deadline: Instant) -> Result<Callback> {
    let lines = stdin_lines();
    let mut unusable = 0;
    let mut _page = None;
    loop {
        eprintln!(
            "After you authorize, paste the address your browser ended on (the whole address bar):"
        );
        let left = deadline.saturating_duration_since(Instant::now());
        let line = match lines.recv_timeout(left) {
            Ok(line) => line,
            Err(mpsc::RecvTimeoutError::Timeout) => return Err(listener::timed_out()),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(Error::Invalid(
                    "stdin ended before an address was pasted".into(),
                ));
            }
        };
        match request.read_callback(&line) {
            Ok(Callback::HandOff { continuation }) => {
                eprintln!("That is the app's Login URI. Continue the authorization:");
                _page = show(
                    continuation.as_str(),
                    "the next authorization page",
                    browser,
                );
            }
            Ok(callback) => return Ok(callback),
            Err(CallbackError::NotACallback) if unusable + 1 < PASTE_ATTEMPTS => {
                unusable += 1;
                eprintln!("{}", CallbackError::NotACallback);
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Lines of stdin, read on a thread so the wait can time out.
fn stdin_lines() -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if !line.trim().is_empty() && sender.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

/// A refresh token starts with `Atzr|`; an access token (`Atza|`) is the usual mix-up.
fn check_refresh_token(value: &str) -> Result<()> {
    if value.starts_with("Atza|") {
        return Err(Error::Invalid(
            "that is an access token (Atza|...), not a refresh token (Atzr|...)".into(),
        )
        .with_hint("copy the refresh token Seller Central shows after \"Authorize app\""));
    }
    if !value.starts_with("Atzr|") || value.len() > 4096 || value.chars().any(char::is_whitespace) {
        return Err(Error::Invalid(
            "that does not look like a refresh token: they start with Atzr| and hold no spaces"
                .into(),
        ));
    }
    Ok(())
}

/// Asks LWA for tokens with the profile's app credentials.
fn exchange(
    service: &TokenService,
    vault: &Vault,
    profile: &str,
    grant: Grant<'_>,
) -> Result<TokenGrant> {
    let (p, app) = vault.profile_with_app(profile)?;
    let by_code = matches!(grant, Grant::AuthorizationCode { .. });
    service
        .request(&AppCredentials::of(app), &grant)
        .map_err(|e| match by_code {
            true => tokens::explain_code_rejection(e, profile, &p.app),
            // A refresh token given by hand is a self-authorization.
            false => tokens::explain_rejection(
                e,
                profile,
                &p.app,
                crate::vault::model::Authorization::SelfAuthorized,
            ),
        })
}

/// Stores a new authorization: the refresh token (only now that it proved to work),
/// the first access token, when known the selling partner id, and when it was given
/// (a consent-flow authorization lapses after 365 days; a self-authorization does not).
fn store_authorization(
    unlocked: &Unlocked,
    profile: &str,
    refresh_token: Secret,
    grant: &TokenGrant,
    selling_partner_id: Option<String>,
    consent_flow: bool,
) -> Result<()> {
    let now = Timestamp::now();
    unlocked.update_profiles(&[profile], |vault| {
        let p = vault.profile_mut(profile)?;
        p.record_authorization(consent_flow, now);
        p.refresh_token = Some(
            grant
                .refresh_token
                .clone()
                .unwrap_or_else(|| refresh_token.clone()),
        );
        p.access_token = Some(CachedToken {
            token: grant.access_token.clone(),
            expires_at: grant.expires_at,
        });
        if selling_partner_id.is_some() {
            p.selling_partner_id = selling_partner_id.clone();
        }
        Ok(())
    })?;
    let seller = selling_partner_id
        .map(|id| format!(" for selling partner {id}"))
        .unwrap_or_default();
    println!(
        "Authorized profile '{profile}'{seller}: refresh token stored, access token valid {}",
        duration::short(Timestamp::now().duration_until(grant.expires_at))
    );
    Ok(())
}
