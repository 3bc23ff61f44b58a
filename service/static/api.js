/* What every script of the configuration page shares: the session from the page's <meta> tags and the one
   JSON API call (Bearer token for cookieless iframes, X-Tenant, X-CSRF-Token). Loaded first (CSP: a file). */
(function () {
  "use strict";

  function meta(name) {
    var el = document.querySelector('meta[name="' + name + '"]');
    return el ? el.getAttribute("content") : "";
  }
  var session = { token: meta("session-token"), csrf: meta("csrf-token"), tenant: meta("tenant") };

  function api(method, path, body) {
    var headers = { "Accept": "application/json", "X-Tenant": session.tenant, "X-CSRF-Token": session.csrf };
    if (session.token) { headers["Authorization"] = "Bearer " + session.token; }
    var init = { method: method, headers: headers, credentials: "same-origin" };
    if (body !== undefined) { headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
    return fetch(path, init).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { status: response.status, data: data };
      });
    }, function () {
      return { status: 0, data: { error: "network", message: "The connector could not be reached. Check your connection and try again." } };
    });
  }

  window.Connector = {
    meta: meta, session: session, api: api,
    $: function (id) { return document.getElementById(id); }
  };
})();
