/* The product tab inside the PIM: this product's (or model's) BigCommerce status, and "Sync now". */
(function () {
  "use strict";

  var connector = window.Connector, $ = connector.$, api = connector.api;
  var root = $("item");
  var uuid = root.getAttribute("data-uuid"), code = root.getAttribute("data-code");
  var query = uuid ? "product=" + encodeURIComponent(uuid) : "model=" + encodeURIComponent(code);
  var OUTCOMES = { created: "created in the store", updated: "updated in the store", unchanged: "unchanged (already up to date)",
                   hidden: "hidden in the store", deleted: "deleted from the store", failed: "failed", skipped: "not sent (outside the selection)",
                   synced: "synced with its model" };
  var lastAt = null;

  function text(el, value) { el.textContent = value; return el; }
  function when(seconds) { return seconds ? new Date(seconds * 1000).toLocaleString() : ""; }

  function result(state, message) {
    var box = $("item-result");
    box.setAttribute("data-state", state);
    box.textContent = "";
    if (message) { box.appendChild(text(document.createElement("p"), message)).className = "result-message"; }
  }

  function fact(list, name, value) {
    list.appendChild(text(document.createElement("dt"), name));
    list.appendChild(text(document.createElement("dd"), value));
  }

  function link(parent, href, label, id) {
    var a = document.createElement("a");
    a.href = href; a.target = "_blank"; a.rel = "noopener noreferrer"; a.id = id;
    parent.appendChild(text(a, label));
  }

  function issues(list, items) {
    list.textContent = "";
    (items || []).forEach(function (i) {
      list.appendChild(text(document.createElement("li"), (i.item ? i.item + ": " : "") + (i.field ? "[" + i.field + "] " : "") + i.message));
    });
  }

  function render(doc) {
    root.setAttribute("aria-busy", "false");
    var badge = $("item-badge");
    var store = doc.store || {};
    var state = !doc.linked ? "none" : (store.missing || store.error ? "error" : "ok");
    badge.setAttribute("data-state", state);
    badge.textContent = !doc.linked ? "Not in the store" : (store.missing ? "Deleted in the store" : (store.is_visible === false ? "In the store (hidden)" : "In the store"));
    var subject = doc.pim || {};
    $("item-subject").textContent = (subject.identifier || subject.code || "") + (doc.variant_of ? " — a variant of " + doc.variant_of + " (one store product with its variants)" : "");

    var facts = $("item-store"); facts.textContent = "";
    var links = $("item-links"); links.textContent = "";
    if (doc.linked && !store.missing && !store.error) {
      fact(facts, "Name", store.name || "");
      fact(facts, "SKU", store.sku || "");
      fact(facts, "Price", (store.price == null ? "" : String(store.price)) + (store.currency ? " " + store.currency : ""));
      fact(facts, "Visible", store.is_visible ? "yes" : "no");
      fact(facts, "Product id", String(store.id));
      if (store.control_panel) { link(links, store.control_panel, "Open in the control panel", "item-control-panel"); }
      if (store.storefront) { link(links, store.storefront, "Open in the storefront", "item-storefront"); }
    } else if (store.missing || store.error) {
      fact(facts, "Product id", String(store.id));
      fact(facts, "Problem", store.message || store.error);
    } else {
      facts.appendChild(text(document.createElement("dd"), "Not sent to BigCommerce yet."));
    }
    var variants = store.variants || [];
    $("item-variants-wrap").hidden = variants.length === 0;
    var body = $("item-variants").querySelector("tbody"); body.textContent = "";
    variants.forEach(function (v) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-this", v["this"] ? "true" : "false");
      [v.sku, (v.options || []).join(", "), v.price == null ? "" : String(v.price), v.purchasing_disabled ? "no" : "yes"].forEach(function (c) {
        tr.appendChild(text(document.createElement("td"), c || ""));
      });
      body.appendChild(tr);
    });

    var last = doc.last_sync;
    lastAt = last ? last.at : null;
    $("item-last-sync").textContent = last ? when(last.at) + " — " + (OUTCOMES[last.outcome] || last.outcome || "synced") +
      (last.via === "import" ? " (" + (last.mode || "") + " import)" : " (change or Sync now)") : "Never synced.";
    issues($("item-errors"), last && last.errors);
    issues($("item-warnings"), last && last.warnings);

    var scope = doc.scope || {};
    $("item-scope").textContent = (scope.in_scope ? "In the selection sent to BigCommerce" : "Not in the selection sent to BigCommerce") +
      (scope.where ? " (" + scope.where + ")." : ".");
    var reasons = $("item-reasons"); reasons.textContent = "";
    (scope.reasons || []).concat(scope.notes || []).forEach(function (r) { reasons.appendChild(text(document.createElement("li"), r)); });
    $("item-sync").disabled = false;
    if (doc.waiting) { result("pending", "Waiting to be synced…"); }
  }

  function load() {
    return api("GET", "/api/embed/item?" + query).then(function (r) {
      if (r.status === 200) { render(r.data); return r.data; }
      root.setAttribute("aria-busy", "false");
      $("item-badge").textContent = "Unknown";
      result("error", (r.data && r.data.message) || "The status could not be read.");
      return null;
    });
  }

  function poll(before, tries) {
    window.setTimeout(function () {
      load().then(function (doc) {
        var changed = doc && doc.last_sync && doc.last_sync.at !== before && !doc.waiting;
        if (changed) { result("ok", "Synced: " + (OUTCOMES[doc.last_sync.outcome] || doc.last_sync.outcome) + "."); return; }
        if (tries > 0) { poll(before, tries - 1); } else { result("error", "Not synced yet: is the connector's worker running?"); }
      });
    }, 1000);
  }

  $("item-sync").addEventListener("click", function () {
    var button = $("item-sync");
    button.disabled = true;
    result("pending", "Sending to BigCommerce…");
    var body = uuid ? { product: uuid } : { model: code };
    api("POST", "/api/embed/sync", body).then(function (r) {
      button.disabled = false;
      if (r.status !== 202) { result("error", (r.data && r.data.message) || "Could not start the sync."); return; }
      poll(lastAt, 60);
    });
  });

  if (uuid || code) { load(); }
})();
