// Amazon's official JavaScript SDK (npm @amazon-sp-api-release/amazon-sp-api-sdk-js)
// through `vault proxy`.
//
// Run from tests/clients (where its node_modules is), under
//   vault exec PROFILE --proxy -- node proxy_sdk_js.cjs [--sdk-rdt]
// It reads only what `exec --proxy` sets (plus ORDER_ID, optional):
//   SP_API_ENDPOINT     http://127.0.0.1:PORT/PROFILE
//   LWA_TOKEN_ENDPOINT  http://127.0.0.1:PORT/auth/o2/token
//   LWA_CLIENT_ID, LWA_CLIENT_SECRET  placeholders
//   LWA_REFRESH_TOKEN   the proxy key
// and calls, through the SDK's own ApiClient and API classes, getMarketplaceParticipations
// (Sellers v1) and the restricted getOrderAddress (Orders v0), with the SDK fetching its
// LWA token itself (enableAutoRetrievalAccessToken). It prints one JSON line
// {"participations": ..., "address": ...} and exits non-zero with a message on failure.
//
// The SP-API endpoint is supported as it is: `new ApiClient(basePath)` keeps plain http
// and a path prefix (every call goes to basePath + path).
//
// The LWA endpoint is not configurable: each ApiClient.js has a private LwaOAuthClient
// that POSTs to the constant 'https://api.amazon.com/auth/o2/token' with
// `superagent.post(...)`. So this script wraps `post` on the very superagent module
// the SDK imports (resolved from the SDK's own folder, so it is the same module object)
// and changes that one URL, and only that one, to LWA_TOKEN_ENDPOINT. The SDK still
// builds and sends the token request and caches the answer itself. Note that the SDK puts
// the refresh token into the form body without URL-encoding it.
//
// getOrderAddress is called with the plain access token: the proxy gets the Restricted
// Data Token itself. With --sdk-rdt the Orders client uses the SDK's own RDT support
// instead (enableAutoRetrievalRestrictedDataToken); the SDK then POSTs to
// `${new URL(url).origin}/tokens/2021-03-01/restrictedDataToken`, i.e. WITHOUT the
// /PROFILE prefix, with restrictedResources[0].path = "/PROFILE/orders/v0/orders/ID/address".
"use strict";

const { createRequire } = require("module");

const NAME = "proxy_sdk_js";
const SDK = "@amazon-sp-api-release/amazon-sp-api-sdk-js";
const AMAZON_LWA_ENDPOINT = "https://api.amazon.com/auth/o2/token";

function fail(message) {
  console.error(`${NAME}: ${message}`);
  process.exit(1);
}

function env(name) {
  const value = process.env[name];
  if (!value) fail(`${name} is not set (run this under \`vault exec PROFILE --proxy -- ...\`)`);
  return value;
}

// What went wrong in a call: superagent's HTTP errors carry the answer.
function describe(error) {
  if (error && error.response) {
    const { status, text } = error.response;
    const url = error.response.req && error.response.req.path;
    return `HTTP ${status}${url ? ` from ${error.response.req.method} ${url}` : ""}: ${text}`;
  }
  return (error && (error.stack || error.message)) || String(error);
}

async function main() {
  const args = process.argv.slice(2);
  const sdkRdt = args.includes("--sdk-rdt");
  const unknown = args.filter((a) => a !== "--sdk-rdt");
  if (unknown.length) fail(`unknown argument(s): ${unknown.join(" ")} (only --sdk-rdt)`);

  const endpoint = env("SP_API_ENDPOINT");
  const lwaEndpoint = env("LWA_TOKEN_ENDPOINT");
  const clientId = env("LWA_CLIENT_ID");
  const clientSecret = env("LWA_CLIENT_SECRET");
  const refreshToken = env("LWA_REFRESH_TOKEN");
  const orderId = process.env.ORDER_ID || "902-3159896-1390916";

  let sdkEntry;
  try {
    sdkEntry = require.resolve(SDK);
  } catch (error) {
    fail(`${SDK} is not installed (run \`npm ci\` in tests/clients): ${error.message}`);
  }
  const superagent = createRequire(sdkEntry)("superagent");
  const post = superagent.post;
  superagent.post = function (url, ...rest) {
    return post.call(this, url === AMAZON_LWA_ENDPOINT ? lwaEndpoint : url, ...rest);
  };

  const { SellersSpApi, OrdersSpApi } = await import(SDK);

  const sellersClient = new SellersSpApi.ApiClient(endpoint);
  sellersClient.enableAutoRetrievalAccessToken(clientId, clientSecret, refreshToken, null);
  const ordersClient = new OrdersSpApi.ApiClient(endpoint);
  if (sdkRdt) {
    ordersClient.enableAutoRetrievalRestrictedDataToken(clientId, clientSecret, refreshToken, null);
  } else {
    ordersClient.enableAutoRetrievalAccessToken(clientId, clientSecret, refreshToken, null);
  }

  const results = {};
  const calls = [
    ["participations", "getMarketplaceParticipations",
      () => new SellersSpApi.SellersApi(sellersClient).getMarketplaceParticipations()],
    ["address", "getOrderAddress",
      () => new OrdersSpApi.OrdersV0Api(ordersClient).getOrderAddress(orderId)],
  ];
  for (const [key, operation, call] of calls) {
    let answer;
    try {
      answer = await call();
    } catch (error) {
      fail(`${operation} failed: ${describe(error)}`);
    }
    if (answer === undefined || answer === null) fail(`${operation} returned nothing`);
    // The SDK's model objects carry the API's own field names: JSON round trip to plain data.
    results[key] = JSON.parse(JSON.stringify(answer));
  }
  process.stdout.write(JSON.stringify(results) + "\n");
}

main().then(
  // The SDK's rate limiters (bottleneck) may keep timers alive: end explicitly.
  () => process.exit(0),
  (error) => fail(describe(error)),
);
