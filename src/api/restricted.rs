//! Which SP-API operations are restricted, i.e. need a Restricted Data Token instead
//! of the access token because they return buyers' personal data.
//!
//! Source: Amazon's Tokens API use-case guide, "List of restricted operations"
//! (https://developer-docs.amazon.com/sp-api/docs/tokens-api-use-case-guide), with
//! each operation's method and path from its model in amzn/selling-partner-api-models.

/// How an operation is restricted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restriction {
    /// Call it with the access token.
    None,
    /// Always call it with a Restricted Data Token.
    Always,
    /// getOrders, getOrder, getOrderItems: restricted only when personal data
    /// elements are asked for (`--data-elements`).
    WithDataElements,
    /// getReportDocument: restricted only for restricted report types, which the
    /// document id does not tell; called with the access token first, and with a
    /// Restricted Data Token after a 403.
    AfterDenial,
}

/// Method, path pattern (`{name}` is one path segment) and restriction.
#[rustfmt::skip]
const OPERATIONS: &[(&str, &str, Restriction)] = &[
    // Orders API v0
    ("GET", "/orders/v0/orders", Restriction::WithDataElements),
    ("GET", "/orders/v0/orders/{orderId}", Restriction::WithDataElements),
    ("GET", "/orders/v0/orders/{orderId}/orderItems", Restriction::WithDataElements),
    ("GET", "/orders/v0/orders/{orderId}/address", Restriction::Always),
    ("GET", "/orders/v0/orders/{orderId}/buyerInfo", Restriction::Always),
    ("GET", "/orders/v0/orders/{orderId}/orderItems/buyerInfo", Restriction::Always),
    ("GET", "/orders/v0/orders/{orderId}/regulatedInfo", Restriction::Always),
    // Merchant Fulfillment API v0
    ("GET", "/mfn/v0/shipments/{shipmentId}", Restriction::Always),
    ("DELETE", "/mfn/v0/shipments/{shipmentId}", Restriction::Always),
    ("PUT", "/mfn/v0/shipments/{shipmentId}/cancel", Restriction::Always),
    ("POST", "/mfn/v0/shipments", Restriction::Always),
    // Direct Fulfillment Orders API v1 and 2021-12-28
    ("GET", "/vendor/directFulfillment/orders/v1/purchaseOrders", Restriction::Always),
    ("GET", "/vendor/directFulfillment/orders/v1/purchaseOrders/{purchaseOrderNumber}", Restriction::Always),
    ("GET", "/vendor/directFulfillment/orders/2021-12-28/purchaseOrders", Restriction::Always),
    ("GET", "/vendor/directFulfillment/orders/2021-12-28/purchaseOrders/{purchaseOrderNumber}", Restriction::Always),
    // Direct Fulfillment Shipping API v1
    ("GET", "/vendor/directFulfillment/shipping/v1/shippingLabels", Restriction::Always),
    ("GET", "/vendor/directFulfillment/shipping/v1/shippingLabels/{purchaseOrderNumber}", Restriction::Always),
    ("POST", "/vendor/directFulfillment/shipping/v1/shippingLabels/{purchaseOrderNumber}", Restriction::Always),
    ("GET", "/vendor/directFulfillment/shipping/v1/packingSlips", Restriction::Always),
    ("GET", "/vendor/directFulfillment/shipping/v1/packingSlips/{purchaseOrderNumber}", Restriction::Always),
    ("GET", "/vendor/directFulfillment/shipping/v1/customerInvoices", Restriction::Always),
    ("GET", "/vendor/directFulfillment/shipping/v1/customerInvoices/{purchaseOrderNumber}", Restriction::Always),
    // Direct Fulfillment Shipping API 2021-12-28
    ("GET", "/vendor/directFulfillment/shipping/2021-12-28/shippingLabels/{purchaseOrderNumber}", Restriction::Always),
    ("GET", "/vendor/directFulfillment/shipping/2021-12-28/packingSlips", Restriction::Always),
    ("GET", "/vendor/directFulfillment/shipping/2021-12-28/packingSlips/{purchaseOrderNumber}", Restriction::Always),
    ("GET", "/vendor/directFulfillment/shipping/2021-12-28/customerInvoices", Restriction::Always),
    ("GET", "/vendor/directFulfillment/shipping/2021-12-28/customerInvoices/{purchaseOrderNumber}", Restriction::Always),
    // Easy Ship API 2022-03-23
    ("POST", "/easyShip/2022-03-23/packages/bulk", Restriction::Always),
    // Shipment Invoicing API v0
    ("GET", "/fba/outbound/brazil/v0/shipments/{shipmentId}", Restriction::Always),
    // Reports API 2021-06-30
    ("GET", "/reports/2021-06-30/documents/{reportDocumentId}", Restriction::AfterDenial),
];

/// How the operation at `method` and `path` (no query string) is restricted.
pub fn restriction(method: &str, path: &str) -> Restriction {
    OPERATIONS
        .iter()
        .find(|(m, pattern, _)| m.eq_ignore_ascii_case(method) && matches(pattern, path))
        .map_or(Restriction::None, |(_, _, restriction)| *restriction)
}

fn matches(pattern: &str, path: &str) -> bool {
    let path = path.trim_end_matches('/');
    let (mut pattern, mut path) = (pattern.split('/'), path.split('/'));
    loop {
        match (pattern.next(), path.next()) {
            (None, None) => return true,
            (Some(expected), Some(actual)) => {
                let is_parameter = expected.starts_with('{') && expected.ends_with('}');
                if !(is_parameter && !actual.is_empty() || expected == actual) {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_matched_by_method_and_path_segments() {
        assert_eq!(
            restriction("GET", "/orders/v0/orders/902-1-2/address"),
            Restriction::Always
        );
        assert_eq!(
            restriction("get", "/orders/v0/orders/902-1-2"),
            Restriction::WithDataElements
        );
        assert_eq!(
            restriction("GET", "/orders/v0/orders"),
            Restriction::WithDataElements
        );
        assert_eq!(restriction("POST", "/orders/v0/orders"), Restriction::None);
        assert_eq!(
            restriction("GET", "/orders/v0/orders//address"),
            Restriction::None
        );
        assert_eq!(
            restriction("GET", "/orders/v0/orders/1/address/extra"),
            Restriction::None
        );
        assert_eq!(
            restriction("GET", "/sellers/v1/marketplaceParticipations"),
            Restriction::None
        );
        assert_eq!(
            restriction("DELETE", "/mfn/v0/shipments/abc"),
            Restriction::Always
        );
        assert_eq!(
            restriction("GET", "/reports/2021-06-30/documents/amzn1.doc.1"),
            Restriction::AfterDenial
        );
        assert_eq!(
            restriction("GET", "/reports/2021-06-30/reports"),
            Restriction::None
        );
    }
}
