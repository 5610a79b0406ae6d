// Loaded with `node -r ./redirect_https.cjs`: sends the HTTPS requests a library makes
// to Amazon's token endpoint to the stand-in LWA server (STANDIN_URL, plain HTTP on
// 127.0.0.1) instead. Neither library has an endpoint setting, so this intercepts at
// the HTTP level; nothing else about the libraries changes.
const http = require("http");
const https = require("https");
const standin = new URL(process.env.STANDIN_URL);

function redirect(args) {
  let [target, options, callback] = args;
  if (typeof target === "string" || target instanceof URL) {
    const url = new URL(target);
    if (typeof options === "function") {
      callback = options;
      options = {};
    }
    options = { ...options, hostname: url.hostname, path: url.pathname + url.search };
  } else {
    callback = options;
    options = { ...target };
  }
  if (options.hostname !== "api.amazon.com" && options.host !== "api.amazon.com") {
    throw new Error(`unexpected request to ${options.hostname || options.host}`);
  }
  delete options.agent;
  delete options.host;
  return http.request(
    { ...options, protocol: "http:", hostname: standin.hostname, port: standin.port },
    callback,
  );
}

https.request = (...args) => redirect(args);
https.get = (...args) => {
  const request = redirect(args);
  request.end();
  return request;
};
