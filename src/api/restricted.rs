//! The resource a Restricted Data Token is asked for, checked against the
//! operations table: the Tokens API takes the methods GET, PUT, POST and DELETE,
//! and `dataElements` only for the operations that take them.

use super::operations::{self, Operation};
use crate::spapi_client::RestrictedResource;

/// Parses `'GET /orders/v0/orders'` into a resource with `data_elements`; data
/// elements the operation does not take are an error, never silently dropped.
pub fn parse_resource(text: &str, data_elements: &[String]) -> Result<RestrictedResource, String> {
    let (method, path) = text
        .trim()
        .split_once(char::is_whitespace)
        .ok_or_else(|| format!("'{}' is not 'METHOD /path'", text.escape_debug()))?;
    let method = method.to_ascii_uppercase();
    if !["GET", "PUT", "POST", "DELETE"].contains(&method.as_str()) {
        return Err(format!(
            "'{}' is not a method the Tokens API takes (GET, PUT, POST, DELETE)",
            method.escape_debug()
        ));
    }
    let path = path.trim();
    if !path.starts_with('/') || path.chars().any(char::is_whitespace) {
        return Err(format!(
            "'{}' is not an SP-API path like /orders/v0/orders",
            path.escape_debug()
        ));
    }
    if !data_elements.is_empty() {
        check_data_elements(operations::find(&method, path), data_elements)
            .map_err(|e| format!("{e} ({method} {path})"))?;
    }
    Ok(RestrictedResource {
        method,
        path: path.to_owned(),
        data_elements: (!data_elements.is_empty()).then(|| data_elements.to_vec()),
    })
}

/// Whether `operation` takes every one of `data_elements`.
fn check_data_elements(
    operation: Option<&Operation>,
    data_elements: &[String],
) -> Result<(), String> {
    let takes = operation.map_or(&[][..], |op| op.data_elements);
    if takes.is_empty() {
        let takers: Vec<String> = operations::all()
            .iter()
            .filter(|op| !op.data_elements.is_empty())
            .map(Operation::name)
            .collect();
        return Err(format!(
            "--data-elements apply only to {}, not to {}",
            takers.join(", "),
            operation.map_or_else(|| "this path".to_owned(), Operation::name)
        ));
    }
    match data_elements.iter().find(|e| !takes.contains(&e.as_str())) {
        Some(unknown) => Err(format!(
            "'{}' is not a data element {} takes: use {}",
            unknown.escape_debug(),
            operation.map(Operation::name).unwrap_or_default(),
            takes.join(", ")
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_are_parsed_and_data_elements_go_where_the_table_says() {
        let elements = vec!["buyerInfo".to_owned(), "buyerTaxInformation".to_owned()];
        for path in ["/orders/v0/orders", "/orders/v0/orders/123-4"] {
            let orders = parse_resource(&format!("get {path}"), &elements).unwrap();
            assert_eq!(orders.method, "GET");
            assert_eq!(orders.data_elements, Some(elements.clone()), "{path}");
        }
        let items = parse_resource(
            "GET /orders/v0/orders/123-4/orderItems",
            &["buyerInfo".to_owned()],
        )
        .unwrap();
        assert_eq!(items.data_elements, Some(vec!["buyerInfo".to_owned()]));
        let error =
            parse_resource("GET /orders/v0/orders/123-4/orderItems", &elements).unwrap_err();
        assert!(error.contains("use buyerInfo"), "{error}");
        for refused in [
            "GET /mfn/v0/shipments/{shipmentId}",
            "GET /orders/v0/orders/123-4/address",
            "GET /orders/v0/orders/123-4/buyerInfo",
            "POST /orders/v0/orders",
            "GET /orders/v0/ordersX",
        ] {
            let error = parse_resource(refused, &elements).unwrap_err();
            assert!(error.contains("getOrders"), "{refused}: {error}");
            assert!(parse_resource(refused, &[]).is_ok(), "{refused}");
        }
        let bad = vec!["phoneNumber".to_owned()];
        assert!(parse_resource("GET /orders/v0/orders", &bad).is_err());
        assert!(parse_resource("PATCH /orders/v0/orders/1", &[]).is_err());
        assert!(parse_resource("/orders/v0/orders", &[]).is_err());
        assert!(parse_resource("FETCH /orders", &[]).is_err());
        assert!(parse_resource("GET orders", &[]).is_err());
    }
}
