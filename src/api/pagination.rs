//! Following SP-API's next-page tokens, where the operations table says each
//! operation puts them and takes them back.

use serde_json::Value;

use super::operations::{self, NextPage, Operation};

/// How to ask for the next page.
#[derive(Debug, PartialEq, Eq)]
pub struct NextRequest {
    /// The query parameter that carries the token.
    pub parameter: &'static str,
    pub token: String,
    /// Whether the first request's other query parameters are sent again: Reports
    /// getReports and Feeds getFeeds refuse the token with any other parameter; the
    /// others want the same arguments repeated.
    pub keep_other_parameters: bool,
}

/// What follows a page.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// It was the last page.
    Done,
    Page(NextRequest),
    /// The page carries a token at `place` (a JSON pointer) that spvault cannot send
    /// back: the operation takes it in no query parameter, or spvault does not know
    /// the operation.
    Unsendable {
        place: &'static str,
    },
}

/// What follows `page`, an answer of `operation` (`None`: not in the table).
pub fn next(operation: Option<&Operation>, page: &Value) -> Next {
    let token_at = |place: &str| {
        page.pointer(place)
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
    };
    let Some(operation) = operation else {
        return match operations::token_places()
            .into_iter()
            .find(|place| token_at(place).is_some())
        {
            Some(place) => Next::Unsendable { place },
            None => Next::Done,
        };
    };
    match operation.next_page {
        NextPage::None => Next::Done,
        NextPage::Query {
            answer_at,
            parameter,
            alone,
        } => match token_at(answer_at) {
            Some(token) => Next::Page(NextRequest {
                parameter,
                token,
                keep_other_parameters: !alone,
            }),
            None => Next::Done,
        },
        NextPage::Unsendable { answer_at } => match token_at(answer_at) {
            Some(_) => Next::Unsendable { place: answer_at },
            None => Next::Done,
        },
    }
}

/// A JSON pointer as a user reads it: `/payload/NextToken` as `payload.NextToken`.
pub fn dotted(place: &str) -> String {
    place.trim_start_matches('/').replace('/', ".")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn next_of(method: &str, path: &str, page: Value) -> Next {
        next(operations::find(method, path), &page)
    }

    #[test]
    fn the_token_is_found_where_each_operation_puts_it() {
        let Next::Page(orders) = next_of(
            "GET",
            "/orders/v0/orders",
            json!({"payload": {"Orders": [], "NextToken": "abc"}}),
        ) else {
            panic!("getOrders pages");
        };
        assert_eq!(
            (orders.parameter, orders.token.as_str()),
            ("NextToken", "abc")
        );
        assert!(orders.keep_other_parameters);

        let Next::Page(reports) = next_of(
            "GET",
            "/reports/2021-06-30/reports",
            json!({"reports": [], "nextToken": "r2"}),
        ) else {
            panic!("getReports pages");
        };
        assert_eq!(reports.parameter, "nextToken");
        assert!(
            !reports.keep_other_parameters,
            "Reports wants the token alone"
        );

        assert_eq!(
            next_of(
                "GET",
                "/orders/v0/orders",
                json!({"payload": {"NextToken": ""}})
            ),
            Next::Done
        );
        assert_eq!(
            next_of("GET", "/orders/v0/orders", json!([1, 2])),
            Next::Done
        );
    }

    #[test]
    fn a_token_of_an_unknown_operation_is_never_dropped_silently() {
        assert_eq!(
            next(None, &json!({"payload": {"NextToken": "x"}})),
            Next::Unsendable {
                place: "/payload/NextToken"
            }
        );
        assert_eq!(next(None, &json!({"items": []})), Next::Done);
        assert_eq!(
            dotted("/payload/pagination/nextToken"),
            "payload.pagination.nextToken"
        );
    }
}
