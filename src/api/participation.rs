//! `GET /sellers/v1/marketplaceParticipations`: the marketplaces Amazon says a
//! seller account takes part in (Sellers API v1).

use serde::{Deserialize, Serialize};

pub const PATH: &str = "/sellers/v1/marketplaceParticipations";

/// One marketplace the account takes part in.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Participation {
    pub id: String,
    pub country_code: String,
    pub has_suspended_listings: bool,
}

#[derive(Deserialize)]
struct Answer {
    payload: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    marketplace: Marketplace,
    participation: Status,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Marketplace {
    id: String,
    #[serde(default)]
    country_code: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    is_participating: bool,
    #[serde(default)]
    has_suspended_listings: bool,
}

/// The marketplaces the answer says the account participates in; those listed with
/// `isParticipating: false` are left out.
pub fn parse(body: &[u8]) -> Result<Vec<Participation>, String> {
    let answer: Answer = serde_json::from_slice(body)
        .map_err(|e| format!("the marketplace participations are not as documented: {e}"))?;
    Ok(answer
        .payload
        .into_iter()
        .filter(|entry| entry.participation.is_participating)
        .map(|entry| Participation {
            id: entry.marketplace.id,
            country_code: entry.marketplace.country_code,
            has_suspended_listings: entry.participation.has_suspended_listings,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_participating_marketplaces_are_kept() {
        let body = br#"{"payload":[
            {"marketplace":{"id":"A1PA6795UKMFR9","countryCode":"DE","name":"Amazon.de"},
             "participation":{"isParticipating":true,"hasSuspendedListings":true}},
            {"marketplace":{"id":"A13V1IB3VIYZZH","countryCode":"FR"},
             "participation":{"isParticipating":false,"hasSuspendedListings":false}}]}"#;
        assert_eq!(
            parse(body).unwrap(),
            [Participation {
                id: "A1PA6795UKMFR9".into(),
                country_code: "DE".into(),
                has_suspended_listings: true,
            }]
        );
        assert!(parse(br#"{"errors":[]}"#).is_err());
    }
}
