"""python-amazon-sp-api builds its credentials from the environment spvault set
(`vault exec p --preset python-amazon-sp-api -- python3 check.py`) and fetches an
access token from the stand-in LWA server, whose address is STANDIN_HOST."""
import json
import os

from sp_api.auth import AccessTokenClient
from sp_api.base import Marketplaces
from sp_api.base.credential_provider import CredentialProvider

# The library has no endpoint variable: point its token client at the stand-in.
AccessTokenClient.scheme = "http://"
AccessTokenClient.host = os.environ["STANDIN_HOST"]

credentials = CredentialProvider().credentials
token = AccessTokenClient(credentials=credentials).get_auth()
marketplace = Marketplaces[os.environ["SP_API_DEFAULT_MARKETPLACE"]]
print(json.dumps({"access_token": token.access_token, "marketplace_id": marketplace.marketplace_id}))
