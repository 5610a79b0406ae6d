"""python-amazon-sp-api refreshing one access token against the stand-in LWA server
(STANDIN_HOST), for bench/cli.sh's side-by-side comparison with `vault refresh`."""
import os

from sp_api.auth import AccessTokenClient
from sp_api.base.credential_provider import CredentialProvider

AccessTokenClient.scheme = "http://"
AccessTokenClient.host = os.environ["STANDIN_HOST"]
token = AccessTokenClient(credentials=CredentialProvider().credentials).get_auth()
assert token.access_token.startswith("Atza|")
