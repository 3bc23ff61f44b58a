/* The page a PIM UI extension's iframe opens: ask the PIM (our parent, the tenant's PIM origin) for its
   JWT, then post it to the connector, which answers with the page and a session of its own. */
(function () {
  "use strict";

  var root = document.getElementById("embed-frame");
  var origin = root.getAttribute("data-origin") || "";
  var form = document.getElementById("embed-frame-form");
  var done = false;

  function say(text) { document.getElementById("embed-frame-message").textContent = text; }

  window.addEventListener("message", function (event) {
    if (done || (origin && event.origin !== origin) || event.source !== window.parent) { return; }
    var data = event.data || {};
    if (data.type !== "JWT_TOKEN" || typeof data.token !== "string" || !data.token) { return; }
    done = true;
    document.getElementById("embed-frame-token").value = data.token;
    form.submit();
  });

  if (window.parent === window) {
    say("Open this page from your PIM: it needs the PIM's token.");
    return;
  }
  window.parent.postMessage({ type: "request_jwt" }, origin || "*");
  window.setTimeout(function () {
    if (!done) { say("Your PIM did not answer. Reload the page; if it keeps happening, add the connector to the PIM again."); }
  }, 10000);
})();
