/* The configuration page: forms to the JSON API, status next to each section, a lazy category picker.
   Served as a file (CSP script-src 'self'); works cookieless inside iframes with the Bearer token. */
(function () {
  "use strict";

  var connector = window.Connector, meta = connector.meta, session = connector.session, $ = connector.$,
      api = connector.api;


  // --- status rendering ------------------------------------------------------------------------

  function showResult(id, state, message, hints) {
    var box = $(id);
    box.setAttribute("data-state", state);
    box.textContent = "";
    if (message) {
      var p = document.createElement("p");
      p.className = "result-message";
      p.textContent = message;
      box.appendChild(p);
    }
    if (hints && hints.length) {
      var ul = document.createElement("ul");
      ul.className = "result-hints";
      hints.forEach(function (hint) {
        var li = document.createElement("li");
        li.textContent = hint;
        ul.appendChild(li);
      });
      box.appendChild(ul);
    }
  }

  function setBadge(id, state, text) {
    var badge = $(id);
    badge.setAttribute("data-state", state);
    badge.textContent = text;
  }

  function clearFieldErrors(form) {
    Array.prototype.forEach.call(form.querySelectorAll(".field-error"), function (p) { p.textContent = ""; });
    Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid]"), function (el) {
      el.removeAttribute("aria-invalid");
    });
  }

  function showFieldErrors(prefix, fields) {
    Object.keys(fields || {}).forEach(function (name) {
      var input = $(prefix + "-" + name);
      var error = $(prefix + "-" + name + "-error");
      if (error) { error.textContent = (input && input.labels && input.labels[0] ? input.labels[0].textContent : name) + " " + fields[name]; }
      if (input) { input.setAttribute("aria-invalid", "true"); }
    });
    // Focus the first bad field in the page's order, not the server's.
    var first = $(prefix + "-form").querySelector("[aria-invalid=true]");
    if (first) { first.focus(); }
  }

  function busy(button, on, text) {
    if (on) {
      button.dataset.label = button.textContent;
      button.textContent = text;
      button.disabled = true;
      button.setAttribute("aria-busy", "true");
    } else {
      button.textContent = button.dataset.label || button.textContent;
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  }

  // --- confirmation of guarded changes ---------------------------------------------------------

  function confirmChange(data) {
    var dialog = $("confirm-dialog");
    $("confirm-message").textContent = data.message || "";
    $("confirm-changed").textContent = (data.changed || []).join(", ");
    return new Promise(function (resolve) {
      function done(answer) {
        $("confirm-ok").removeEventListener("click", onOk);
        $("confirm-cancel").removeEventListener("click", onCancel);
        dialog.removeEventListener("cancel", onCancel);
        if (dialog.open) { dialog.close(); }
        resolve(answer);
      }
      function onOk() { done(true); }
      function onCancel(event) { if (event) { event.preventDefault(); } done(false); }
      $("confirm-ok").addEventListener("click", onOk);
      $("confirm-cancel").addEventListener("click", onCancel);
      dialog.addEventListener("cancel", onCancel);
      dialog.showModal();
      $("confirm-cancel").focus();
    });
  }

  /* PUT a form's values; on 409 confirmation_required ask, then send again with confirm: true. */
  function save(path, body, prefix, button, busyText) {
    clearFieldErrors($(prefix + "-form"));
    busy(button, true, busyText);
    showResult(prefix + "-result", "busy", busyText, []);
    return api("PUT", path, body).then(function (res) {
      if (res.status === 409 && res.data.error === "confirmation_required") {
        return confirmChange(res.data).then(function (yes) {
          if (!yes) {
            showResult(prefix + "-result", "none", "Nothing was changed.", []);
            return null;
          }
          body.confirm = true;
          return api("PUT", path, body);
        });
      }
      return res;
    }).then(function (res) {
      busy(button, false);
      if (!res) { return null; }
      if (res.status === 422) {
        showFieldErrors(prefix, res.data.fields);
        showResult(prefix + "-result", "error", res.data.message || "Some fields are not valid.", []);
        return null;
      }
      if (res.status !== 200) {
        showResult(prefix + "-result", "error", res.data.message || ("Request failed (" + res.status + ")."),
                   res.data.hints || []);
        return null;
      }
      return res.data;
    });
  }

  function formValues(form) {
    var values = {};
    Array.prototype.forEach.call(form.querySelectorAll("input[name]"), function (input) {
      values[input.name] = input.value;
    });
    return values;
  }

  // --- PIM and BigCommerce credentials ---------------------------------------------------------

  function credentialForm(prefix, path, secretNames, onResult) {
    var form = $(prefix + "-form");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      save(path, formValues(form), prefix, $(prefix + "-save"), "Saving and testing…").then(function (data) {
        if (!data) { return; }
        showResult(prefix + "-result", data.connected ? "ok" : "error", data.message, data.hints);
        // The badge tells what is in force: a failed test leaves the previous connection in use.
        var view = data.pim || data.bigcommerce || {};
        var inForce = view.connected === undefined ? data.connected : view.connected;
        setBadge(prefix + "-badge", inForce ? "ok" : "error", inForce ? "Connected" : "Not connected");
        showInUse(prefix, data.previous_in_use ? view : null);
        secretNames.forEach(function (name) {
          var input = $(prefix + "-" + name);
          if (input.value) { input.value = ""; input.placeholder = "Set — leave empty to keep it"; }
        });
        if (onResult) { onResult(data, inForce); }
      });
    });
  }

  /* The note under a failed test when the credentials that passed before are still in force. */
  function showInUse(prefix, view) {
    var note = $(prefix + "-in-use");
    if (!note) { return; }
    note.hidden = !view;
    note.textContent = !view ? "" : "The previous connection is still in use (" +
      (prefix === "pim" ? view.url + ", user " + view.username : "store " + view.store_hash) +
      "): imports and updates go on with it until new credentials pass the test.";
  }

  // --- main configuration ----------------------------------------------------------------------

  var main = { channels: [], selected: "", cursor: null, query: "" };

  function setMainEnabled(on) {
    $("main-fieldset").disabled = !on;
    $("main-locked").hidden = on;
    if (on) { loadChoices(); }
  }

  function fillSelect(select, items, current, placeholder) {
    select.textContent = "";
    var blank = document.createElement("option");
    blank.value = "";
    blank.textContent = placeholder;
    select.appendChild(blank);
    items.forEach(function (item) {
      var option = document.createElement("option");
      option.value = item.code;
      option.textContent = item.label && item.label !== item.code ? item.label + " (" + item.code + ")" : item.code;
      if (current && item.code.toLowerCase() === current.toLowerCase()) { option.selected = true; }
      select.appendChild(option);
    });
  }

  function choicesFailed(res) {
    showResult("main-result", "error", res.data.message || "The PIM's lists could not be read.", res.data.hints || []);
  }

  function loadChoices() {
    var form = $("main-form");
    main.selected = main.selected || form.dataset.category;
    showResult("main-result", "busy", "Loading channels and locales from the PIM…", []);
    api("GET", "/api/pim/channels").then(function (res) {
      if (res.status !== 200) { return choicesFailed(res); }
      main.channels = res.data.items;
      fillSelect($("main-channel"), main.channels, $("main-channel").value || form.dataset.channel, "Choose a channel");
      showResult("main-result", "none", "", []);
      channelChanged();
    });
  }

  function currentChannel() {
    var code = $("main-channel").value;
    return main.channels.filter(function (c) { return c.code === code; })[0];
  }

  function channelChanged() {
    var channel = currentChannel();
    var path = "/api/pim/locales" + (channel ? "?channel=" + encodeURIComponent(channel.code) : "");
    api("GET", path).then(function (res) {
      if (res.status !== 200) { return choicesFailed(res); }
      // Read the choice when the answer arrives: the user may have picked a locale meanwhile.
      var locale = $("main-locale").value || $("main-form").dataset.locale;
      fillSelect($("main-locale"), res.data.items, locale, "Choose a locale");
    });
    showTree();
  }

  function categoryItem(item, list) {
    var li = document.createElement("li");
    var id = "cat-" + list.dataset.level + "-" + item.code;
    var radio = document.createElement("input");
    radio.type = "radio";
    radio.name = "category";
    radio.id = id;
    radio.value = item.code;
    radio.checked = main.selected && main.selected.toLowerCase() === item.code.toLowerCase();
    radio.addEventListener("change", function () {
      main.selected = item.code;
      $("main-category-selected").textContent = item.label && item.label !== item.code ? item.label + " (" + item.code + ")" : item.code;
    });
    var label = document.createElement("label");
    label.setAttribute("for", id);
    label.textContent = item.label || item.code;
    var code = document.createElement("code");
    code.textContent = item.code + (item.parent && list.dataset.flat ? " · in " + item.parent : "");
    label.appendChild(document.createTextNode(" "));
    label.appendChild(code);
    li.appendChild(radio);
    li.appendChild(label);
    var toggle = document.createElement("button");
    toggle.type = "button";
    toggle.className = "btn btn-link";
    toggle.textContent = "Sub-categories";
    toggle.setAttribute("aria-expanded", "false");
    toggle.setAttribute("aria-label", "Show sub-categories of " + (item.label || item.code));
    var children = document.createElement("ul");
    children.className = "category-list";
    children.dataset.level = String(Number(list.dataset.level) + 1);
    children.hidden = true;
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") === "true";
      toggle.setAttribute("aria-expanded", open ? "false" : "true");
      children.hidden = open;
      if (!open && !children.dataset.loaded) {
        children.dataset.loaded = "1";
        loadCategories(children, "parent=" + encodeURIComponent(item.code), null);
      }
    });
    li.appendChild(toggle);
    li.appendChild(children);
    list.appendChild(li);
  }

  function loadCategories(list, query, cursor) {
    var tree = $("category-tree");
    tree.setAttribute("aria-busy", "true");
    var status = document.createElement("li");
    status.className = "category-status";
    status.textContent = "Loading…";
    list.appendChild(status);
    var path = "/api/pim/categories?limit=50&" + query + (cursor ? "&cursor=" + encodeURIComponent(cursor) : "");
    return api("GET", path).then(function (res) {
      tree.setAttribute("aria-busy", "false");
      list.removeChild(status);
      if (res.status !== 200) {
        var error = document.createElement("li");
        error.className = "category-status error";
        error.textContent = res.data.message || "Could not load categories.";
        list.appendChild(error);
        return;
      }
      res.data.items.forEach(function (item) { categoryItem(item, list); });
      if (!res.data.items.length && !res.data.next) {
        var empty = document.createElement("li");
        empty.className = "category-status";
        empty.textContent = list.dataset.flat ? "No category matches." : "No sub-categories.";
        list.appendChild(empty);
      }
      if (res.data.next) {
        var more = document.createElement("li");
        var button = document.createElement("button");
        button.type = "button";
        button.className = "btn btn-link";
        button.textContent = list.dataset.flat ? "Search further" : "More categories";
        button.addEventListener("click", function () {
          list.removeChild(more);
          loadCategories(list, query, res.data.next);
        });
        more.appendChild(button);
        list.appendChild(more);
      }
    });
  }

  function newList(flat) {
    var tree = $("category-tree");
    tree.textContent = "";
    var list = document.createElement("ul");
    list.className = "category-list";
    list.dataset.level = "0";
    if (flat) { list.dataset.flat = "1"; }
    tree.appendChild(list);
    return list;
  }

  function showTree() {
    var channel = currentChannel();
    var list = newList(false);
    if (!channel) { return; }
    // The channel's tree root is itself a valid main category (the whole tree); its children load on demand.
    categoryItem({ code: channel.category_tree, label: channel.category_tree, parent: null }, list);
  }

  var searchTimer = null;
  function searchChanged() {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(function () {
      var q = $("category-search").value.trim();
      if (q === main.query) { return; }
      main.query = q;
      if (!q) { showTree(); return; }
      loadCategories(newList(true), "search=" + encodeURIComponent(q), null);
    }, 300);
  }

  function mainSubmit(event) {
    event.preventDefault();
    var body = { channel: $("main-channel").value, locale: $("main-locale").value, category: main.selected || "" };
    save("/api/config/main", body, "main", $("main-save"), "Checking with the PIM…").then(function (data) {
      if (!data) { return; }
      var form = $("main-form");
      form.dataset.channel = data.main.channel;
      form.dataset.locale = data.main.locale;
      form.dataset.category = data.main.category;
      showResult("main-result", "ok", "Saved: " + data.main.channel + ", " + data.main.locale + ", " + data.main.category +
                 "." + (data.changed && data.changed.length ? " The next import will be a full one." : ""), []);
      setBadge("main-badge", "ok", "Saved");
    });
  }

  // --- events ------------------------------------------------------------------------------------

  function eventsSubmit(event) {
    event.preventDefault();
    save("/api/config/events", { secret: $("events-secret").value }, "events", $("events-save"), "Saving…").then(function (data) {
      if (!data) { return; }
      $("events-secret").value = "";
      showResult("events-result", "ok", "The event secret is saved.", []);
      $("events-badge").setAttribute("data-secret", "set");
      setBadge("events-badge", "ok", "Secret set");
    });
  }

  function copyWebhook() {
    var input = $("events-url");
    input.select();
    var done = function () { showResult("events-result", "ok", "Webhook URL copied.", []); };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
    } else {
      document.execCommand("copy");
      done();
    }
  }

  // --- start ---------------------------------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", function () {
    credentialForm("pim", "/api/config/pim", ["secret", "password"], function (data, inForce) { setMainEnabled(inForce); });
    credentialForm("bc", "/api/config/bigcommerce", ["access_token"], function (data) {
      // Show the hash the server kept, not the URL that was pasted (the answer's notes say it was cut out);
      // after a failed test, the one that was tried (the connection in force may use another).
      var shown = data.bigcommerce && (data.bigcommerce.last_attempt || data.bigcommerce);
      if (shown && shown.store_hash) { $("bc-store_hash").value = shown.store_hash; }
    });
    $("main-form").addEventListener("submit", mainSubmit);
    $("main-channel").addEventListener("change", channelChanged);
    $("category-search").addEventListener("input", searchChanged);
    $("events-form").addEventListener("submit", eventsSubmit);
    $("events-copy").addEventListener("click", copyWebhook);
    if (!$("main-fieldset").disabled) { loadChoices(); }
    document.body.setAttribute("data-ready", "true");
  });
})();
