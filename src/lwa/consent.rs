//! The website authorization (OAuth consent) flow: the consent address, the `state`
//! that ties the answer to this attempt, and reading what the browser came back with.

use url::Url;

use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::settings::Network;
use crate::spapi::{Marketplace, Region};

pub const CONSENT_PATH: &str = "/apps/authorize/consent";

/// What a consent attempt needs to know about the profile and its app.
#[derive(Debug, Clone)]
pub struct ConsentRequest {
    /// Scheme and host of Seller or Vendor Central (or the override).
    pub base: Url,
    pub application_id: String,
    pub redirect_uri: Option<String>,
    pub draft: bool,
    pub state: Secret,
}

/// What the browser came back with.
#[derive(Debug)]
pub enum Callback {
    /// Amazon sent the browser to the app's Login URI first: it must be sent on to
    /// this continuation address.
    HandOff { continuation: Url },
    /// Consent was given: exchange the code now (it dies after 5 minutes).
    Authorized {
        code: Secret,
        selling_partner_id: Option<String>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    #[error(
        "the address holds no authorization: paste the full address from the browser bar, after the page that says the app was authorized"
    )]
    NotACallback,
    #[error(
        "the redirect's state does not match this login attempt: it may be forged or from an older attempt; nothing was stored, run `vault login` again"
    )]
    StateMismatch,
    #[error("Amazon refused the authorization: {error}{description}")]
    Denied { error: String, description: String },
    #[error(
        "the Login URI hand-off names an amazon_callback_uri that is not on the profile's Seller or Vendor Central host"
    )]
    BadCallbackUri,
}

impl From<CallbackError> for Error {
    fn from(error: CallbackError) -> Self {
        Error::Other(error.to_string())
    }
}

/// A fresh, unguessable, single-use state: 256 random bits in hex.
pub fn new_state() -> Secret {
    let bytes: [u8; 32] = rand::random();
    Secret::new(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The Seller Central (or Vendor Central) host for a profile: its marketplace's, else
/// the region's main one.
pub fn central_host(region: Region, marketplace_id: Option<&str>, vendor: bool) -> &'static str {
    let marketplace = marketplace_id.and_then(Marketplace::by_id);
    match (vendor, marketplace) {
        (false, Some(m)) => m.seller_central,
        (false, None) => region.default_seller_central(),
        (true, Some(m)) => m.vendor_central.unwrap_or(region.default_vendor_central()),
        (true, None) => region.default_vendor_central(),
    }
}

/// `https://HOST`, or the scheme and host of the settings' consent address
/// (`SPVAULT_CONSENT_BASE_URL`) when set.
pub fn base_url(host: &str, network: &Network) -> Result<Url> {
    match &network.consent_base_url {
        Some(url) => {
            let mut url = url.clone();
            url.set_path("");
            url.set_query(None);
            Ok(url)
        }
        None => Url::parse(&format!("https://{host}"))
            .map_err(|e| Error::Other(format!("bad Seller Central host {host}: {e}"))),
    }
}

impl ConsentRequest {
    /// `{base}/apps/authorize/consent?application_id=…&state=…[&version=beta][&redirect_uri=…]`
    pub fn url(&self) -> Url {
        let mut url = self.base.join(CONSENT_PATH).expect("a path joins a base");
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("application_id", &self.application_id);
            query.append_pair("state", self.state.expose());
            if self.draft {
                query.append_pair("version", "beta");
            }
            if let Some(uri) = &self.redirect_uri {
                query.append_pair("redirect_uri", uri);
            }
        }
        url
    }

    /// Reads a pasted or received address (or just its query string).
    pub fn read_callback(&self, address: &str) -> Result<Callback, CallbackError> {
        let query = query_of(address.trim());
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty())
        };
        if let (Some(callback_uri), Some(amazon_state)) =
            (get("amazon_callback_uri"), get("amazon_state"))
        {
            return self
                .continuation(&callback_uri, &amazon_state)
                .map(|continuation| Callback::HandOff { continuation });
        }
        let state_matches = get("state").is_some_and(|s| {
            // Constant-time: the state is compared with attacker-chosen input.
            let (a, b) = (s.as_bytes(), self.state.expose().as_bytes());
            a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
        });
        if let Some(error) = get("error") {
            if !state_matches {
                return Err(CallbackError::StateMismatch);
            }
            let description = get("error_description")
                .map(|d| format!(": {}", printable(&d)))
                .unwrap_or_default();
            return Err(CallbackError::Denied {
                error: printable(&error),
                description,
            });
        }
        let Some(code) = get("spapi_oauth_code") else {
            return Err(CallbackError::NotACallback);
        };
        if !state_matches {
            return Err(CallbackError::StateMismatch);
        }
        Ok(Callback::Authorized {
            code: Secret::new(code),
            selling_partner_id: get("selling_partner_id").map(|s| printable(&s)),
        })
    }

    /// Where the browser goes after the app's Login URI: Amazon's callback address
    /// (relative ones are on the Seller Central host) with `amazon_state`, our
    /// `state`, the redirect URI and `version=beta` for drafts.
    fn continuation(&self, callback_uri: &str, amazon_state: &str) -> Result<Url, CallbackError> {
        let mut url = self
            .base
            .join(callback_uri)
            .map_err(|_| CallbackError::BadCallbackUri)?;
        // Our state goes only to the profile's Seller or Vendor Central host (or the
        // consent base that overrides it): a relative path, or an address on exactly
        // that origin. Anyone could otherwise ask for it with a forged hand-off.
        if url.origin() != self.base.origin() {
            return Err(CallbackError::BadCallbackUri);
        }
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("amazon_state", amazon_state);
            query.append_pair("state", self.state.expose());
            if let Some(uri) = &self.redirect_uri {
                query.append_pair("redirect_uri", uri);
            }
            if self.draft {
                query.append_pair("version", "beta");
            }
        }
        Ok(url)
    }
}

fn query_of(address: &str) -> &str {
    let without_fragment = address.split('#').next().unwrap_or_default();
    match without_fragment.split_once('?') {
        Some((_, query)) => query,
        None => without_fragment,
    }
}

/// Text from a redirect, safe to print: printable ASCII only, and short.
fn printable(text: &str) -> String {
    crate::http::printable(text).chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spapi::MARKETPLACES;

    fn request(host: &str, draft: bool, redirect_uri: Option<&str>) -> ConsentRequest {
        ConsentRequest {
            base: Url::parse(&format!("https://{host}")).unwrap(),
            application_id: "amzn1.sp.solution.abc".into(),
            redirect_uri: redirect_uri.map(str::to_owned),
            draft,
            state: Secret::from("s1"),
        }
    }

    #[test]
    fn consent_urls_for_every_marketplace_seller_and_vendor() {
        for m in MARKETPLACES {
            let seller = central_host(m.region, Some(m.id), false);
            assert_eq!(seller, m.seller_central, "{}", m.code);
            let url = request(seller, false, None).url();
            assert_eq!(
                url.as_str(),
                format!(
                    "https://{}/apps/authorize/consent?application_id=amzn1.sp.solution.abc&state=s1",
                    m.seller_central
                )
            );
            let vendor = central_host(m.region, Some(m.id), true);
            assert!(
                vendor.starts_with("vendorcentral.amazon.") || vendor == "www.vendorcentral.in",
                "{}: {vendor}",
                m.code
            );
            if let Some(expected) = m.vendor_central {
                assert_eq!(vendor, expected, "{}", m.code);
            }
        }
        assert_eq!(
            central_host(Region::Eu, Some("A1PA6795UKMFR9"), false),
            "sellercentral-europe.amazon.com"
        );
        assert_eq!(
            central_host(Region::Fe, Some("A1VC38T7YXB528"), true),
            "vendorcentral.amazon.co.jp"
        );
        assert_eq!(
            central_host(Region::Na, None, false),
            "sellercentral.amazon.com"
        );
        assert_eq!(
            central_host(Region::Eu, Some("ARBP9OOSHTCHU"), true),
            "vendorcentral.amazon.me"
        );
        assert_eq!(
            central_host(Region::Eu, Some("AE08WJ6YKNBMC"), false),
            "sellercentral.amazon.co.za"
        );
        assert_eq!(
            central_host(Region::Eu, Some("A21TJRUUN4KGV"), true),
            "www.vendorcentral.in"
        );
    }

    #[test]
    fn drafts_get_version_beta_and_the_redirect_uri_is_passed() {
        let url = request(
            "sellercentral.amazon.de",
            true,
            Some("https://x.example/cb?a=1"),
        )
        .url();
        assert_eq!(
            url.as_str(),
            "https://sellercentral.amazon.de/apps/authorize/consent?application_id=amzn1.sp.solution.abc&state=s1&version=beta&redirect_uri=https%3A%2F%2Fx.example%2Fcb%3Fa%3D1"
        );
    }

    #[test]
    fn callbacks_are_checked_against_the_state() {
        let r = request("sellercentral.amazon.com", false, None);
        match r.read_callback(
            "https://x.example/cb?state=s1&selling_partner_id=A3X&spapi_oauth_code=RHx",
        ) {
            Ok(Callback::Authorized {
                code,
                selling_partner_id,
            }) => {
                assert_eq!(code.expose(), "RHx");
                assert_eq!(selling_partner_id.as_deref(), Some("A3X"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            r.read_callback("https://x.example/cb?state=s2&spapi_oauth_code=RHx"),
            Err(CallbackError::StateMismatch)
        ));
        assert!(matches!(
            r.read_callback("https://x.example/cb?spapi_oauth_code=RHx"),
            Err(CallbackError::StateMismatch)
        ));
        assert!(matches!(
            r.read_callback("https://x.example/cb?state=s1&error=access_denied"),
            Err(CallbackError::Denied { .. })
        ));
        assert!(matches!(
            r.read_callback("hello"),
            Err(CallbackError::NotACallback)
        ));
        assert!(matches!(
            r.read_callback("state=s1&spapi_oauth_code=c"),
            Ok(Callback::Authorized { .. })
        ));
    }

    #[test]
    fn the_login_uri_hand_off_builds_the_continuation() {
        let r = request(
            "sellercentral.amazon.com",
            true,
            Some("https://x.example/cb"),
        );
        let pasted = "https://x.example/login?amazon_callback_uri=%2Fapps%2Fauthorize%2Fconfirm%2Fabc&amazon_state=AS1&selling_partner_id=A3X";
        match r.read_callback(pasted) {
            Ok(Callback::HandOff { continuation }) => assert_eq!(
                continuation.as_str(),
                "https://sellercentral.amazon.com/apps/authorize/confirm/abc?amazon_state=AS1&state=s1&redirect_uri=https%3A%2F%2Fx.example%2Fcb&version=beta"
            ),
            other => panic!("{other:?}"),
        }
        for hostile in [
            "http%3A%2F%2Fsellercentral.amazon.com%2F",
            "https%3A%2F%2Fevil.example%2F",
            "https%3A%2F%2Famazon.evil.example%2Fx",
            "https%3A%2F%2Fsellercentral.amazon.de%2Fapps",
            "https%3A%2F%2Fsellercentral.amazon.com%3A8443%2F",
            "%2F%2Fevil.example%2Fx",
        ] {
            let pasted =
                format!("https://x.example/login?amazon_callback_uri={hostile}&amazon_state=A");
            assert!(
                matches!(r.read_callback(&pasted), Err(CallbackError::BadCallbackUri)),
                "{hostile}"
            );
        }
    }
}
