"""Amazon's official Python SDK (PyPI `amzn-sp-api`, module `spapi`) through `vault proxy`.

Run under `vault exec PROFILE --proxy -- python tests/clients/proxy_amzn_sp_api.py`.
It reads only what `exec --proxy` sets (plus ORDER_ID, optional):
  SP_API_ENDPOINT     http://127.0.0.1:PORT/PROFILE
  LWA_TOKEN_ENDPOINT  http://127.0.0.1:PORT/auth/o2/token
  LWA_CLIENT_ID, LWA_CLIENT_SECRET  placeholders
  LWA_REFRESH_TOKEN   the proxy key
and calls, through the SDK's own API classes, getMarketplaceParticipations (Sellers v1)
and the restricted getOrderAddress (Orders v0). It prints one JSON line
{"participations": ..., "address": ...} and exits non-zero with a message on failure.

Pointing the SDK at the proxy needs no patching: SPAPIClient takes both URLs as
constructor arguments, `oauth_endpoint` (where spapi.auth.AccessTokenCache POSTs the
form-encoded refresh_token grant, with `requests`) and `endpoint` (which becomes
Configuration.host; every call goes to `host + resource_path`, so plain http and a
path prefix such as /PROFILE are kept as they are). The SDK sends the LWA access token
in `x-amz-access-token` and has no Restricted Data Token support of its own: for
getOrderAddress it sends the plain token, and the proxy fetches the RDT itself.
"""

import json
import os
import sys

NAME = "proxy_amzn_sp_api"


def fail(message):
    print(f"{NAME}: {message}", file=sys.stderr)
    sys.exit(1)


def env(name):
    value = os.environ.get(name)
    if not value:
        fail(f"{name} is not set (run this under `vault exec PROFILE --proxy -- ...`)")
    return value


def lwa_failure(error):
    """The SDK's LwaException, with the HTTP answer behind it when there was one (the
    SDK's own message leaves it out for 4xx answers: it tests the falsy Response)."""
    response = getattr(error.__cause__, "response", None)
    if response is not None:
        return f"{error}; HTTP {response.status_code}: {response.text}"
    return f"{error} ({error.__cause__})" if error.__cause__ else str(error)


def main():
    endpoint = env("SP_API_ENDPOINT").rstrip("/")
    lwa_endpoint = env("LWA_TOKEN_ENDPOINT")
    client_id = env("LWA_CLIENT_ID")
    client_secret = env("LWA_CLIENT_SECRET")
    refresh_token = env("LWA_REFRESH_TOKEN")
    order_id = os.environ.get("ORDER_ID") or "902-3159896-1390916"

    try:
        from spapi import ApiException, OrdersV0Api, SellersApi, SPAPIClient, SPAPIConfig
        from spapi.auth.lwa_exception import LwaException
    except ImportError as error:
        fail(f"the amzn-sp-api package is not installed ({error})")

    try:
        # region only picks a default endpoint, which `endpoint` overrides.
        config = SPAPIConfig(client_id=client_id, client_secret=client_secret,
                             refresh_token=refresh_token, region="NA")
        # Constructing the client already fetches the LWA token (ApiClient.__init__). On
        # a failed token request the SDK retries 3 times (2 + 4 + 8 s) before raising.
        client = SPAPIClient(config, oauth_endpoint=lwa_endpoint, endpoint=endpoint)
    except LwaException as error:
        fail(f"the SDK could not get an LWA token from {lwa_endpoint}: {lwa_failure(error)}")
    except Exception as error:  # connection refused and the like
        fail(f"the SDK could not get an LWA token from {lwa_endpoint}: {type(error).__name__}: {error}")

    api_client = client.api_client
    results = {}
    for key, operation, call in (
        ("participations", "getMarketplaceParticipations",
         lambda: SellersApi(api_client).get_marketplace_participations()),
        ("address", "getOrderAddress",
         lambda: OrdersV0Api(api_client).get_order_address(order_id)),
    ):
        try:
            answer = call()
        except ApiException as error:
            body = error.body.decode("utf-8", "replace") if isinstance(error.body, bytes) else error.body
            fail(f"{operation} failed: HTTP {error.status} {error.reason}: {body}")
        except LwaException as error:
            fail(f"{operation} failed: the SDK could not get an LWA token from {lwa_endpoint}: "
                 f"{lwa_failure(error)}")
        except ValueError as error:
            # client_side_validation (on by default) rejects an answer that lacks a field
            # the model requires, e.g. MarketplaceParticipation.storeName.
            fail(f"{operation} failed: the SDK rejected the answer (a required field is "
                 f"missing?): {error}")
        except Exception as error:
            fail(f"{operation} failed: {type(error).__name__}: {error}")
        if answer is None:
            fail(f"{operation} returned nothing")
        # sanitize_for_serialization turns the SDK's model objects back into plain JSON
        # with the API's own field names (to_dict() would give snake_case names).
        results[key] = api_client.sanitize_for_serialization(answer)

    print(json.dumps(results))


if __name__ == "__main__":
    main()
