/* "The connector inside the PIM": add (or update) and remove the UI extensions, and show what is installed. */
(function () {
  "use strict";

  var connector = window.Connector, $ = connector.$, api = connector.api;
  var busy = false;

  function result(state, message, hints) {
    var box = $("embed-result");
    box.setAttribute("data-state", state);
    box.textContent = "";
    if (message) {
      var p = document.createElement("p"); p.className = "result-message"; p.textContent = message; box.appendChild(p);
    }
    if (hints && hints.length) {
      var ul = document.createElement("ul"); ul.className = "result-hints";
      hints.forEach(function (h) { var li = document.createElement("li"); li.textContent = h; ul.appendChild(li); });
      box.appendChild(ul);
    }
  }

  function render(data) {
    var badge = $("embed-badge");
    var some = (data.extensions || []).some(function (e) { return e.installed; });
    badge.textContent = data.installed ? "Added to the PIM" : (some ? "Partly added" : "Not added");
    badge.setAttribute("data-state", data.installed ? "ok" : (some || data.message ? "error" : "none"));
    $("embed-locked").hidden = !!data.pim_connected;
    $("embed-install").disabled = busy || !data.pim_connected;
    $("embed-install").textContent = data.installed ? "Update the connector in the PIM" : "Add the connector to the PIM";
    $("embed-remove").hidden = !some;
    var list = $("embed-extensions");
    list.textContent = "";
    (data.extensions || []).forEach(function (e) {
      var li = document.createElement("li");
      li.setAttribute("data-kind", e.kind);
      li.setAttribute("data-installed", e.installed ? "true" : "false");
      li.textContent = (e.installed ? "✓ " : "– ") + e.label + " (" + e.type + " at " + e.position + ")";
      list.appendChild(li);
    });
    if (data.message) { result("error", data.message, data.hints); }
  }

  function run(path, pending) {
    busy = true;
    $("embed-install").disabled = true;
    result("pending", pending);
    api(path === "GET" ? "GET" : "POST", path === "GET" ? "/api/embed" : path).then(function (r) {
      busy = false;
      if (r.status === 200) {
        render(r.data);
        if (path !== "GET" && !r.data.message) {
          result("ok", r.data.installed ? "The connector is in your PIM: reload the PIM to see it." : "Removed from the PIM.");
        }
        return;
      }
      $("embed-install").disabled = false;
      result("error", (r.data && r.data.message) || "Something went wrong.", r.data && r.data.hints);
    });
  }

  $("embed-install").addEventListener("click", function () { run("/api/embed/install", "Adding the connector to the PIM…"); });
  $("embed-remove").addEventListener("click", function () { run("/api/embed/remove", "Removing the connector from the PIM…"); });
  api("GET", "/api/embed").then(function (r) { if (r.status === 200) { render(r.data); result("none", ""); } });
  // connecting the PIM on this page unlocks the button (config.js updates the badge)
  var pimBadge = $("pim-badge");
  if (pimBadge && window.MutationObserver) {
    new MutationObserver(function () {
      if (pimBadge.getAttribute("data-state") === "ok") { api("GET", "/api/embed").then(function (r) { if (r.status === 200) { render(r.data); } }); }
    }).observe(pimBadge, { attributes: true });
  }
})();
