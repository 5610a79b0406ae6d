//! Following SP-API's next-page tokens. Operations put the token in one of three
//! places and take it back under different query parameter names.

use serde_json::Value;

/// How to ask for the next page.
#[derive(Debug, PartialEq, Eq)]
pub struct NextPage {
    /// The query parameter that carries the token.
    pub parameter: &'static str,
    pub token: String,
    /// Whether the first request's other query parameters are sent again. The
    /// Reports and Feeds APIs (top-level `nextToken`) refuse the token together with
    /// any other parameter; the others want their filters repeated.
    pub keep_other_parameters: bool,
}

/// APIs that answer with `pagination.nextToken` but take it back as `pageToken`
/// (Catalog Items 2022-04-01, Listings Items 2021-08-01); the others take `nextToken`.
const PAGE_TOKEN_APIS: [&str; 2] = ["/catalog/2022-04-01/", "/listings/2021-08-01/"];

/// The next page of the answer `page` to a request for `path`, if there is one.
pub fn next_page(path: &str, page: &Value) -> Option<NextPage> {
    let token = |value: Option<&Value>| {
        value
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
    };
    if let Some(token) = token(page.pointer("/payload/NextToken")) {
        return Some(NextPage {
            parameter: "NextToken",
            token,
            keep_other_parameters: true,
        });
    }
    if let Some(token) = token(page.pointer("/pagination/nextToken")) {
        let takes_page_token = PAGE_TOKEN_APIS.iter().any(|api| path.starts_with(api));
        return Some(NextPage {
            parameter: if takes_page_token {
                "pageToken"
            } else {
                "nextToken"
            },
            token,
            keep_other_parameters: true,
        });
    }
    token(page.get("nextToken")).map(|token| NextPage {
        parameter: "nextToken",
        token,
        keep_other_parameters: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_token_is_found_where_each_api_puts_it() {
        let orders = json!({"payload": {"Orders": [], "NextToken": "abc"}});
        let next = next_page("/orders/v0/orders", &orders).unwrap();
        assert_eq!((next.parameter, next.token.as_str()), ("NextToken", "abc"));
        assert!(next.keep_other_parameters);

        let catalog = json!({"items": [], "pagination": {"nextToken": "p2"}});
        assert_eq!(
            next_page("/catalog/2022-04-01/items", &catalog)
                .unwrap()
                .parameter,
            "pageToken"
        );
        assert_eq!(
            next_page("/fba/inventory/v1/summaries", &catalog)
                .unwrap()
                .parameter,
            "nextToken"
        );

        let reports = json!({"reports": [], "nextToken": "r2"});
        let next = next_page("/reports/2021-06-30/reports", &reports).unwrap();
        assert_eq!(next.parameter, "nextToken");
        assert!(!next.keep_other_parameters);

        assert_eq!(
            next_page("/x", &json!({"payload": {"NextToken": ""}})),
            None
        );
        assert_eq!(next_page("/x", &json!({"payload": []})), None);
        assert_eq!(next_page("/x", &json!([1, 2])), None);
    }
}
