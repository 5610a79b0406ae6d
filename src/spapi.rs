//! SP-API geography: regions, their endpoints, marketplaces and the Seller and Vendor
//! Central hosts where sellers grant consent. Facts from Amazon's SP-API documentation.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    Na,
    Eu,
    Fe,
}

impl Region {
    pub const ALL: [Region; 3] = [Region::Na, Region::Eu, Region::Fe];

    /// The codes of the marketplaces the region covers.
    pub fn marketplace_codes(self) -> Vec<&'static str> {
        MARKETPLACES
            .iter()
            .filter(|m| m.region == self)
            .map(|m| m.code)
            .collect()
    }

    pub fn code(self) -> &'static str {
        match self {
            Region::Na => "na",
            Region::Eu => "eu",
            Region::Fe => "fe",
        }
    }

    pub fn endpoint(self, sandbox: bool) -> &'static str {
        match (self, sandbox) {
            (Region::Na, false) => "https://sellingpartnerapi-na.amazon.com",
            (Region::Eu, false) => "https://sellingpartnerapi-eu.amazon.com",
            (Region::Fe, false) => "https://sellingpartnerapi-fe.amazon.com",
            (Region::Na, true) => "https://sandbox.sellingpartnerapi-na.amazon.com",
            (Region::Eu, true) => "https://sandbox.sellingpartnerapi-eu.amazon.com",
            (Region::Fe, true) => "https://sandbox.sellingpartnerapi-fe.amazon.com",
        }
    }

    pub fn aws_region(self) -> &'static str {
        match self {
            Region::Na => "us-east-1",
            Region::Eu => "eu-west-1",
            Region::Fe => "us-west-2",
        }
    }

    /// The Seller Central host used when a profile names no marketplace.
    pub fn default_seller_central(self) -> &'static str {
        match self {
            Region::Na => "sellercentral.amazon.com",
            Region::Eu => "sellercentral-europe.amazon.com",
            Region::Fe => "sellercentral.amazon.co.jp",
        }
    }

    /// The Vendor Central host used when a vendor profile names no marketplace.
    pub fn default_vendor_central(self) -> &'static str {
        match self {
            Region::Na => "vendorcentral.amazon.com",
            Region::Eu => "vendorcentral.amazon.co.uk",
            Region::Fe => "vendorcentral.amazon.co.jp",
        }
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marketplace {
    pub code: &'static str,
    pub id: &'static str,
    pub region: Region,
    pub seller_central: &'static str,
    /// `None` where Amazon documents no Vendor Central host for the marketplace.
    pub vendor_central: Option<&'static str>,
}

const fn market(
    code: &'static str,
    id: &'static str,
    region: Region,
    seller_central: &'static str,
    vendor_central: Option<&'static str>,
) -> Marketplace {
    Marketplace {
        code,
        id,
        region,
        seller_central,
        vendor_central,
    }
}

const EUROPE: &str = "sellercentral-europe.amazon.com";

/// Every marketplace with its id and its Seller and Vendor Central hosts (the consent
/// page lives there). Source: Amazon's SP-API developer guide, "Marketplace IDs",
/// "Seller Central URLs" and "Vendor Central URLs"
/// (developer-docs.amazon.com/sp-api/docs/…), as recorded in the project's LWA.md on
/// 2026-11 (South Africa's Seller Central from Amazon's ZA seller guide). Ireland's
/// Seller Central host is not in Amazon's table; the European one serves it.
pub const MARKETPLACES: &[Marketplace] = &[
    market(
        "CA",
        "A2EUQ1WTGCTBG2",
        Region::Na,
        "sellercentral.amazon.ca",
        Some("vendorcentral.amazon.ca"),
    ),
    market(
        "US",
        "ATVPDKIKX0DER",
        Region::Na,
        "sellercentral.amazon.com",
        Some("vendorcentral.amazon.com"),
    ),
    market(
        "MX",
        "A1AM78C64UM0Y8",
        Region::Na,
        "sellercentral.amazon.com.mx",
        Some("vendorcentral.amazon.com.mx"),
    ),
    market(
        "BR",
        "A2Q3Y263D00KWC",
        Region::Na,
        "sellercentral.amazon.com.br",
        Some("vendorcentral.amazon.com.br"),
    ),
    market("IE", "A28R8C7NBKEWEA", Region::Eu, EUROPE, None),
    market(
        "ES",
        "A1RKKUPIHCS9HS",
        Region::Eu,
        EUROPE,
        Some("vendorcentral.amazon.es"),
    ),
    market(
        "UK",
        "A1F83G8C2ARO7P",
        Region::Eu,
        EUROPE,
        Some("vendorcentral.amazon.co.uk"),
    ),
    market(
        "FR",
        "A13V1IB3VIYZZH",
        Region::Eu,
        EUROPE,
        Some("vendorcentral.amazon.fr"),
    ),
    market(
        "BE",
        "AMEN7PMS3EDWL",
        Region::Eu,
        "sellercentral.amazon.com.be",
        Some("vendorcentral.amazon.com.be"),
    ),
    market(
        "NL",
        "A1805IZSGTT6HS",
        Region::Eu,
        "sellercentral.amazon.nl",
        Some("vendorcentral.amazon.nl"),
    ),
    market(
        "DE",
        "A1PA6795UKMFR9",
        Region::Eu,
        EUROPE,
        Some("vendorcentral.amazon.de"),
    ),
    market(
        "IT",
        "APJ6JRA9NG5V4",
        Region::Eu,
        EUROPE,
        Some("vendorcentral.amazon.it"),
    ),
    market(
        "SE",
        "A2NODRKZP88ZB9",
        Region::Eu,
        "sellercentral.amazon.se",
        Some("vendorcentral.amazon.se"),
    ),
    market(
        "ZA",
        "AE08WJ6YKNBMC",
        Region::Eu,
        "sellercentral.amazon.co.za",
        None,
    ),
    market(
        "PL",
        "A1C3SOZRARQ6R3",
        Region::Eu,
        "sellercentral.amazon.pl",
        Some("vendorcentral.amazon.pl"),
    ),
    market(
        "EG",
        "ARBP9OOSHTCHU",
        Region::Eu,
        "sellercentral.amazon.eg",
        Some("vendorcentral.amazon.me"),
    ),
    market(
        "TR",
        "A33AVAJ2PDY3EV",
        Region::Eu,
        "sellercentral.amazon.com.tr",
        Some("vendorcentral.amazon.com.tr"),
    ),
    market(
        "SA",
        "A17E79C6D8DWNP",
        Region::Eu,
        "sellercentral.amazon.sa",
        Some("vendorcentral.amazon.me"),
    ),
    market(
        "AE",
        "A2VIGQ35RCS4UG",
        Region::Eu,
        "sellercentral.amazon.ae",
        Some("vendorcentral.amazon.me"),
    ),
    market(
        "IN",
        "A21TJRUUN4KGV",
        Region::Eu,
        "sellercentral.amazon.in",
        // Amazon's current authorization and marketplace tables; its 2021 seller
        // guide gave vendorcentral.amazon.in.
        Some("www.vendorcentral.in"),
    ),
    market(
        "SG",
        "A19VAU5U5O7RUS",
        Region::Fe,
        "sellercentral.amazon.sg",
        Some("vendorcentral.amazon.com.sg"),
    ),
    market(
        "AU",
        "A39IBJ37TRP1C6",
        Region::Fe,
        "sellercentral.amazon.com.au",
        Some("vendorcentral.amazon.com.au"),
    ),
    market(
        "JP",
        "A1VC38T7YXB528",
        Region::Fe,
        "sellercentral.amazon.co.jp",
        Some("vendorcentral.amazon.co.jp"),
    ),
];

impl Marketplace {
    /// Finds a marketplace by its two-letter code (`DE`, also `GB` for `UK`) or its id.
    pub fn lookup(code_or_id: &str) -> Option<&'static Marketplace> {
        let wanted = code_or_id.trim().to_ascii_uppercase();
        let wanted = if wanted == "GB" {
            "UK".to_owned()
        } else {
            wanted
        };
        MARKETPLACES
            .iter()
            .find(|m| m.code == wanted || m.id == wanted)
    }

    pub fn by_id(id: &str) -> Option<&'static Marketplace> {
        MARKETPLACES.iter().find(|m| m.id == id)
    }
}

impl FromStr for Region {
    type Err = String;

    /// `na`, `eu` or `fe` in any case; `us` is `na` (the only region it can mean).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        if wanted.eq_ignore_ascii_case("us") {
            return Ok(Region::Na);
        }
        Region::ALL
            .into_iter()
            .find(|r| r.code().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| {
                let regions: Vec<String> = Region::ALL
                    .iter()
                    .map(|r| format!("{} ({})", r.code(), r.marketplace_codes().join(", ")))
                    .collect();
                format!(
                    "unknown region '{}': use {}",
                    wanted.escape_debug(),
                    regions.join("; ")
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_marketplace_is_found_by_code_and_by_id() {
        for m in MARKETPLACES {
            assert_eq!(Marketplace::lookup(m.code), Some(m));
            assert_eq!(Marketplace::lookup(&m.id.to_lowercase()), Some(m));
        }
        assert_eq!(Marketplace::lookup("gb").map(|m| m.code), Some("UK"));
        assert!(Marketplace::lookup("XX").is_none());
    }
}
