// @sp-api-sdk/auth reads LWA_CLIENT_ID, LWA_CLIENT_SECRET and LWA_REFRESH_TOKEN from
// the environment spvault set (`vault exec p --preset sp-api-sdk`) and fetches a token.
const { SellingPartnerApiAuth } = require("@sp-api-sdk/auth");

new SellingPartnerApiAuth({})
  .getAccessToken()
  .then((token) => console.log(JSON.stringify({ access_token: token })))
  .catch((error) => {
    console.error(error);
    process.exit(1);
  });
