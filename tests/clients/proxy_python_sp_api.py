"""python-amazon-sp-api (PyPI, module sp_api) through `vault proxy`, as README's "Proxy"
section shows it. Run under `vault exec PROFILE --proxy -- python proxy_python_sp_api.py`.

The library has no setting for either URL: its LWA client's address is three class
attributes (an AccessTokenClient subclass, passed as auth_token_client_class), and the
SP-API endpoint is the client's `endpoint` attribute, set after construction. It calls
getMarketplaceParticipations and getOrderAddress and prints one JSON line."""
import json
import os
import sys
from urllib.parse import urlsplit

from sp_api.api import Orders, Sellers
from sp_api.auth import AccessTokenClient
from sp_api.base import Marketplaces

lwa = urlsplit(os.environ["LWA_TOKEN_ENDPOINT"])


class ProxyLwa(AccessTokenClient):
    scheme, host, path = f"{lwa.scheme}://", lwa.netloc, lwa.path


def client(api):
    made = api(
        Marketplaces.DE,
        refresh_token=os.environ["LWA_REFRESH_TOKEN"],
        auth_token_client_class=ProxyLwa,
        credentials=dict(
            lwa_app_id=os.environ["LWA_CLIENT_ID"],
            lwa_client_secret=os.environ["LWA_CLIENT_SECRET"],
        ),
    )
    made.endpoint = os.environ["SP_API_ENDPOINT"]
    return made


try:
    participations = client(Sellers).get_marketplace_participation().payload
    address = client(Orders).get_order_address(os.environ.get("ORDER_ID", "902-3159896-1390916")).payload
except Exception as error:  # the library's errors carry the HTTP answer
    print(f"proxy_python_sp_api: {type(error).__name__}: {error}", file=sys.stderr)
    sys.exit(1)
print(json.dumps({"participations": participations, "address": address}))
