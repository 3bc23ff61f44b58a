/* The "Real-time updates" block: the Event Platform switch, the subscription's status and actions, and
   the last hour's events. Polls GET /api/events every 5 s while the page is visible. */
(function () {
  "use strict";

  var connector = window.Connector, meta = connector.meta, session = connector.session, $ = connector.$,
      api = connector.api;
  var busy = false;


  var LABELS = { off: "Off", active: "Active", suspended: "Suspended", revoked: "Revoked", deleted: "Deleted" };

  function when(seconds) {
    if (!seconds) { return "none yet"; }
    var ago = Math.max(0, Math.round(Date.now() / 1000 - seconds));
    if (ago < 60) { return ago + " s ago"; }
    if (ago < 3600) { return Math.round(ago / 60) + " min ago"; }
    return new Date(seconds * 1000).toLocaleString();
  }

  function render(data) {
    var rt = data.realtime || {};
    var status = rt.enabled ? (rt.status || "active") : "off";
    $("realtime").setAttribute("data-state", status);
    $("realtime-switch").checked = !!rt.enabled;
    var badge = $("realtime-status");
    badge.textContent = LABELS[status] || status;
    badge.setAttribute("data-state", status === "active" ? "ok" : (status === "off" ? "none" : "error"));
    $("realtime-message").textContent = rt.message || "";
    $("realtime-suspend").hidden = status !== "active";
    $("realtime-resume").hidden = status !== "suspended";
    $("realtime-remove").hidden = !rt.enabled;
    // the section's badge says how changes arrive: the subscription first, else the pasted secret
    var section = $("events-badge");
    if (rt.enabled) {
      section.textContent = status === "active" ? "On" : (LABELS[status] || status);
      section.setAttribute("data-state", status === "active" ? "ok" : "error");
    } else if (section.getAttribute("data-secret") === "set") {
      section.textContent = "Secret set";
      section.setAttribute("data-state", "ok");
    } else {
      section.textContent = "Not set up";
      section.setAttribute("data-state", "none");
    }
    if (data.webhook_url) { $("events-url").value = data.webhook_url; }
    $("events-last").textContent = when(data.last_event_at);
    $("events-waiting").textContent = String(data.waiting || 0);
    var h = data.last_hour || {};
    $("events-hour").textContent = "received " + (h.received || 0) + " · applied " + (h.applied || 0) +
      " · unchanged " + (h.unchanged || 0) + " · skipped " + (h.skipped || 0) + " · failed " + (h.failed || 0) +
      (h.requested ? " · synced on request " + h.requested : "");
    var list = $("events-failures");
    list.textContent = "";
    (data.failures || []).slice(0, 10).forEach(function (f) {
      var li = document.createElement("li");
      li.textContent = when(f.at) + " — " + f.item + ": " + f.reason;
      list.appendChild(li);
    });
  }

  function result(state, message) {
    var box = $("realtime-result");
    box.setAttribute("data-state", state);
    box.textContent = "";
    if (message) {
      var p = document.createElement("p");
      p.className = "result-message";
      p.textContent = message;
      box.appendChild(p);
    }
  }

  function run(method, path, body, pending) {
    if (busy) { return; }
    busy = true;
    result("pending", pending);
    $("realtime-switch").disabled = true;
    api(method, path, body).then(function (r) {
      busy = false;
      $("realtime-switch").disabled = false;
      if (r.status === 200) {
        render(r.data);
        result("ok", r.data.realtime && r.data.realtime.enabled ? "Real-time updates are on." : "Real-time updates are off.");
      } else {
        result("error", (r.data && r.data.message) || "Something went wrong.");
        refresh();
      }
    });
  }

  function refresh() {
    if (busy || document.hidden) { return; }
    api("GET", "/api/events").then(function (r) { if (r.status === 200 && !busy) { render(r.data); } });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!$("realtime")) { return; }
    $("realtime-switch").addEventListener("change", function (e) {
      var on = e.target.checked;
      run("PUT", "/api/config/events/realtime", { enabled: on }, on ? "Subscribing…" : "Removing the subscription…");
    });
    $("realtime-suspend").addEventListener("click", function () {
      run("POST", "/api/config/events/realtime/suspend", undefined, "Suspending…");
    });
    $("realtime-resume").addEventListener("click", function () {
      run("POST", "/api/config/events/realtime/resume", undefined, "Resuming…");
    });
    $("realtime-remove").addEventListener("click", function () {
      run("POST", "/api/config/events/realtime/remove", undefined, "Removing the subscription…");
    });
    refresh();
    setInterval(refresh, 5000);
  });
})();
