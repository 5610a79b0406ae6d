// amazon-sp-api reads SELLING_PARTNER_APP_CLIENT_ID and SELLING_PARTNER_APP_CLIENT_SECRET
// from the environment spvault set (`vault exec p --preset amazon-sp-api`); the refresh
// token is passed in code, as its README shows, from SP_API_REFRESH_TOKEN.
const SellingPartner = require("amazon-sp-api");

const client = new SellingPartner({
  region: process.env.SP_API_REGION,
  refresh_token: process.env.SP_API_REFRESH_TOKEN,
  options: { auto_request_tokens: false },
});
client
  .refreshAccessToken()
  .then(() => console.log(JSON.stringify({ access_token: client.access_token })))
  .catch((error) => {
    console.error(error);
    process.exit(1);
  });
