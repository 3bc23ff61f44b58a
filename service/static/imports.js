/* The imports section of the configuration page: start full/delta imports, a live progress bar (polls
   GET /api/imports/{id}), the last 30 runs, a run's errors and warnings with a text filter, the import
   settings and schedule, and the clean-up after a confirmed guarded change.
   Served as a file (CSP script-src 'self'); cookieless-safe: the session token goes as a Bearer header. */
(function () {
  "use strict";

  var POLL_MS = 1000;
  var READY_POLL_MS = 5000;
  var FINISHED = { succeeded: true, partial: true, failed: true };
  var MODE = { full: "Full import", delta: "Delta import" };
  var SHORT = { full: "Full", delta: "Delta" };
  var STATUS = { queued: "Queued", running: "Running", succeeded: "Succeeded", partial: "Partial", failed: "Failed" };

  var connector = window.Connector, meta = connector.meta, session = connector.session, $ = connector.$,
      api = connector.api;
  if (!$("imports-section")) { return; }

  var tracking = null;      // run id whose progress is polled
  var pollTimer = null;
  var readyTimer = null;
  var detail = null;        // the run shown in the details, with all its issues


  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  function showResult(id, state, message) {
    var box = $(id);
    box.setAttribute("data-state", state);
    box.textContent = "";
    if (message) { box.appendChild(el("p", "result-message", message)); }
  }

  function when(epoch) {
    if (!epoch) { return "—"; }
    var d = new Date(epoch * 1000);
    return d.toISOString().slice(0, 16).replace("T", " ") + " UTC";
  }

  function countsText(counts) {
    var parts = [];
    ["created", "updated", "unchanged", "hidden", "deleted", "failed"].forEach(function (k) {
      if (counts && counts[k]) { parts.push(counts[k] + " " + k); }
    });
    return parts.length ? parts.join(", ") : "—";
  }

  // --- readiness, settings, schedule, clean-up ----------------------------------------------

  var MISSING = {
    pim: "connect the PIM", bigcommerce: "connect the BigCommerce store",
    main: "save the main configuration (locale, channel, main category)"
  };

  function renderSettings(doc) {
    var missing = doc.missing || [];
    var notice = $("imports-missing");
    var running = tracking !== null;
    if (missing.length) {
      notice.hidden = false;
      notice.textContent = "Before the first import: " + missing.map(function (m) { return MISSING[m] || m; }).join("; ") + ".";
      if (!running) { setBadge("none", "Not ready"); }
    } else {
      notice.hidden = true;
      if (!running) { setBadge("ok", "Ready"); }
    }
    var retry = doc.to_retry || 0;
    $("imports-retry").hidden = !retry;
    $("imports-retry").textContent = retry ? (retry === 1 ? "1 product" : retry + " products") +
      " could not be sent to the store last time (the run's errors say why): the next delta import tries " +
      (retry === 1 ? "it" : "them") + " again, also when nothing changed in the PIM." : "";
    $("import-full").disabled = $("import-delta").disabled = missing.length > 0 || running;
    clearTimeout(readyTimer);
    if (missing.length) { readyTimer = setTimeout(loadSettings, READY_POLL_MS); }

    var s = doc.settings || {};
    $("imports-enabled_only").checked = s.enabled_only !== false;
    var threshold = s.completeness;
    $("imports-completeness-on").checked = threshold !== null && threshold !== undefined;
    if (threshold !== null && threshold !== undefined) { $("imports-completeness").value = threshold; }
    $("imports-families").value = (s.families || []).join(", ");
    $(s.removed === "delete" ? "imports-removed-delete" : "imports-removed-hide").checked = true;
    var schedule = s.schedule || { every: "off", at: "02:00" };
    $("imports-every").value = schedule.every;
    $("imports-at").value = schedule.at;
    var next = doc.schedule && doc.schedule.next_at;
    $("imports-next").textContent = schedule.every === "off" ? "No scheduled import." :
      ("Next scheduled delta import: " + (next ? next.slice(0, 16).replace("T", " ") + " UTC" : "being armed") +
       (doc.schedule && doc.schedule.last_result ? " · last: " + doc.schedule.last_result : ""));

    var cleanup = doc.cleanup || {};
    var offered = doc.next_import === "full" && doc.first_import_done;
    $("cleanup").hidden = !offered && !cleanup.state;
    var cleaning = cleanup.state === "queued" || cleanup.state === "running";
    $("cleanup-hide").disabled = $("cleanup-delete").disabled = cleaning || !offered;
    if (cleanup.state) {
      var c = cleanup.counts || {};
      var text = "Clean-up (" + cleanup.action + "): " + cleanup.state +
        (c.products !== undefined ? " · " + c.products + " products, " + (c.categories || 0) + " categories" : "") +
        (cleanup.message ? " · " + cleanup.message : "");
      showResult("cleanup-result", cleanup.state === "failed" ? "error" : (cleaning ? "busy" : "ok"), text);
      if (cleaning) { setTimeout(loadSettings, POLL_MS * 2); }
    }
  }

  function setBadge(state, text) {
    var badge = $("imports-badge");
    badge.setAttribute("data-state", state);
    badge.textContent = text;
  }

  function loadSettings() {
    return api("GET", "/api/config/imports").then(function (r) {
      if (r.status === 200) { renderSettings(r.data); }
    });
  }

  function settingsBody() {
    var families = $("imports-families").value.split(/[\s,;]+/).filter(function (f) { return f; });
    var threshold = parseInt($("imports-completeness").value, 10);
    return {
      enabled_only: $("imports-enabled_only").checked,
      completeness: $("imports-completeness-on").checked ? (isNaN(threshold) ? -1 : threshold) : null,
      families: families,
      removed: $("imports-removed-delete").checked ? "delete" : "hide",
      schedule: { every: $("imports-every").value, at: $("imports-at").value }
    };
  }

  $("imports-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = $("imports-form");
    Array.prototype.forEach.call(form.querySelectorAll(".field-error"), function (p) { p.textContent = ""; });
    var button = $("imports-save");
    button.disabled = true;
    showResult("imports-settings-result", "busy", "Saving…");
    api("PUT", "/api/config/imports", settingsBody()).then(function (r) {
      button.disabled = false;
      if (r.status === 200) {
        renderSettings(r.data);
        showResult("imports-settings-result", "ok", "Import settings saved." +
          (r.data.schedule && r.data.schedule.next_at ? " The next scheduled delta import runs at " +
            r.data.schedule.next_at.slice(0, 16).replace("T", " ") + " UTC." : ""));
        return;
      }
      var fields = (r.data && r.data.fields) || {};
      Object.keys(fields).forEach(function (name) {
        var box = $("imports-" + name.replace("schedule.", "") + "-error");
        if (box) { box.textContent = fields[name]; }
      });
      showResult("imports-settings-result", "error", (r.data && r.data.message) || "The settings could not be saved.");
    });
  });

  function cleanup(action) {
    var question = action === "delete" ?
      "Delete from the store every product and category the connector created before your change? This cannot be undone." :
      "Hide in the store every product and category the connector created before your change?";
    if (!window.confirm(question)) { return; }
    showResult("cleanup-result", "busy", "Starting the clean-up…");
    api("POST", "/api/imports/cleanup", { action: action }).then(function (r) {
      if (r.status === 202) {
        showResult("cleanup-result", "busy", "Clean-up queued (" + action + ").");
        loadSettings();
      } else {
        showResult("cleanup-result", "error", (r.data && r.data.message) || "The clean-up could not start.");
      }
    });
  }
  $("cleanup-hide").addEventListener("click", function () { cleanup("hide"); });
  $("cleanup-delete").addEventListener("click", function () { cleanup("delete"); });

  // --- starting and following a run ---------------------------------------------------------

  function start(mode) {
    $("import-full").disabled = $("import-delta").disabled = true;
    showResult("imports-result", "busy", "Starting the " + MODE[mode].toLowerCase() + "…");
    api("POST", "/api/imports", { mode: mode }).then(function (r) {
      if (r.status === 202) {
        showResult("imports-result", "ok", MODE[mode] + " queued.");
        track(r.data.id);
        loadRuns();
        return;
      }
      showResult("imports-result", "error", (r.data && r.data.message) || "The import could not start.");
      if (r.data && r.data.run) { track(r.data.run); }
      loadSettings();
    });
  }
  $("import-full").addEventListener("click", function () { start("full"); });
  $("import-delta").addEventListener("click", function () { start("delta"); });

  function track(runId) {
    if (tracking === runId) { return; }
    tracking = runId;
    $("import-full").disabled = $("import-delta").disabled = true;
    clearTimeout(pollTimer);
    poll();
  }

  function poll() {
    if (!tracking) { return; }
    var runId = tracking;
    api("GET", "/api/imports/" + encodeURIComponent(runId)).then(function (r) {
      if (tracking !== runId) { return; }
      if (r.status !== 200) { pollTimer = setTimeout(poll, POLL_MS * 3); return; }
      var run = r.data;
      renderProgress(run);
      if (detail && detail.id === run.id) { showDetail(run); }
      if (FINISHED[run.status]) {
        tracking = null;
        var state = run.status === "succeeded" ? "ok" : "error";
        showResult("imports-result", state, MODE[run.mode] + " " + STATUS[run.status].toLowerCase() + ": " +
          countsText(run.counts.products) + " products" +
          (run.errors_total ? "; " + run.errors_total + " errors (see the run's details)" : "") + ".");
        loadRuns();
        loadSettings();
        return;
      }
      pollTimer = setTimeout(poll, POLL_MS);
    });
  }

  function renderProgress(run) {
    var box = $("import-progress");
    var bar = $("import-progress-bar");
    box.hidden = false;
    var done = run.progress.done, total = run.progress.total;
    var label = MODE[run.mode] + " " + STATUS[run.status].toLowerCase();
    if (run.status === "queued") {
      label += ": waiting for a worker";
      bar.removeAttribute("value");  // indeterminate
    } else if (total > 0) {
      var percent = Math.min(100, Math.round(100 * done / total));
      bar.max = 100;
      bar.value = FINISHED[run.status] ? 100 : percent;
      label += ": " + done + " of " + total + " products (" + (FINISHED[run.status] ? 100 : percent) + " %)";
    } else if (FINISHED[run.status]) {
      bar.value = 100;
    } else {
      label += ": reading the PIM";
      bar.removeAttribute("value");
    }
    $("import-progress-label").textContent = label;
    $("import-progress-counts").textContent = "Products: " + countsText(run.counts.products) +
      " · Categories: " + countsText(run.counts.categories) +
      " · " + (run.errors_total || 0) + " errors, " + (run.warnings_total || 0) + " warnings";
    setBadge(FINISHED[run.status] ? (run.status === "succeeded" ? "ok" : "error") : "none", STATUS[run.status]);
  }

  // --- history and a run's issues -----------------------------------------------------------

  function renderRuns(items) {
    var body = $("runs-body");
    body.textContent = "";
    if (!items.length) {
      var empty = el("tr");
      var cell = el("td", "runs-empty", "No import yet.");
      cell.colSpan = 7;
      empty.appendChild(cell);
      body.appendChild(empty);
      return;
    }
    items.forEach(function (run) {
      var row = el("tr");
      row.setAttribute("data-run", run.id);
      row.setAttribute("aria-selected", detail && detail.id === run.id ? "true" : "false");
      row.appendChild(el("td", "run-when", when(run.started_at || run.created_at).replace(" UTC", "")));
      row.appendChild(el("td", null, (SHORT[run.mode] || run.mode) + (run.trigger === "schedule" ? " (scheduled)" : "")));
      var status = el("td");
      var badge = el("span", "run-status", STATUS[run.status] || run.status);
      badge.setAttribute("data-status", run.status);
      status.appendChild(badge);
      row.appendChild(status);
      row.appendChild(el("td", null, countsText(run.counts.products)));
      row.appendChild(el("td", null, countsText(run.counts.categories)));
      row.appendChild(el("td", null, (run.errors_total || 0) + " errors, " + (run.warnings_total || 0) + " warnings"));
      var action = el("td");
      var button = el("button", "btn btn-link", "Details");
      button.type = "button";
      button.setAttribute("aria-controls", "run-detail");
      button.addEventListener("click", function () { openRun(run.id); });
      action.appendChild(button);
      row.appendChild(action);
      body.appendChild(row);
    });
  }

  function loadRuns() {
    return api("GET", "/api/imports").then(function (r) {
      if (r.status !== 200) { return; }
      var items = r.data.items || [];
      renderRuns(items);
      var active = items.filter(function (run) { return !FINISHED[run.status]; })[0];
      if (active) { track(active.id); }
    });
  }

  function openRun(runId) {
    api("GET", "/api/imports/" + encodeURIComponent(runId)).then(function (r) {
      if (r.status !== 200) { return; }
      showDetail(r.data);
      Array.prototype.forEach.call($("runs-body").querySelectorAll("tr"), function (row) {
        row.setAttribute("aria-selected", row.getAttribute("data-run") === runId ? "true" : "false");
      });
      $("issues-filter").focus();
    });
  }

  function showDetail(run) {
    detail = run;
    $("run-detail").hidden = false;
    $("run-detail-title").textContent = MODE[run.mode] + " of " + when(run.started_at || run.created_at) + ": " +
      (STATUS[run.status] || run.status);
    renderIssues();
  }

  function matches(issue, needle) {
    if (!needle) { return true; }
    return [issue.item, issue.field, issue.message].join(" ").toLowerCase().indexOf(needle) !== -1;
  }

  function fillIssues(list, issues, needle) {
    list.textContent = "";
    var shown = issues.filter(function (issue) { return matches(issue, needle); });
    shown.forEach(function (issue) {
      var li = el("li");
      li.appendChild(el("span", "issue-item", issue.item));
      if (issue.field) { li.appendChild(el("span", "issue-field", issue.field)); }
      li.appendChild(el("span", "issue-message", issue.message));
      list.appendChild(li);
    });
    if (!shown.length) { list.appendChild(el("li", "issues-none", issues.length ? "None match the filter." : "None.")); }
    return shown.length;
  }

  function renderIssues() {
    if (!detail) { return; }
    var needle = $("issues-filter").value.trim().toLowerCase();
    var errors = fillIssues($("run-errors"), detail.errors, needle);
    var warnings = fillIssues($("run-warnings"), detail.warnings, needle);
    $("issues-count").textContent = "Showing " + errors + " of " + detail.errors.length + " errors and " +
      warnings + " of " + detail.warnings.length + " warnings" +
      (detail.errors_total > detail.errors.length || detail.warnings_total > detail.warnings.length ?
        " (the run had " + detail.errors_total + " errors and " + detail.warnings_total + " warnings; the first ones are kept)" : "") + ".";
  }
  $("issues-filter").addEventListener("input", renderIssues);

  loadSettings();
  loadRuns();
})();
