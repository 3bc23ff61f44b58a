/* The attribute mapping section of the configuration page: one control per BigCommerce field offering only
   the PIM attributes it accepts (GET /api/mapping), per-family overrides, save (PUT /api/mapping) and a
   live preview of the payload the import would send (POST /api/mapping/preview). Served as a file (CSP
   script-src 'self'); works cookieless inside iframes with the page's Bearer token. */
(function () {
  "use strict";

  var FILTER_AT = 40;          // a filter box above any list longer than this (PIMs with hundreds)
  var PREVIEW_DELAY = 400;     // ms of quiet before a preview request
  var INHERIT = "__inherit__"; // "same as all families" in a family's scope
  var GROUPS = [
    ["Product", ["name", "sku", "description", "brand", "condition", "warranty", "availability_description", "visibility"]],
    ["Prices", ["price", "sale_price", "retail_price", "cost_price"]],
    ["Weight and dimensions", ["weight", "width", "height", "depth"]],
    ["Identifiers", ["upc", "mpn", "gtin"]],
    ["Search engines", ["search_keywords", "page_title", "meta_description"]],
    ["Images and custom fields", ["images", "custom_fields"]],
    ["Variants (product models)", ["variant_sku", "variant_price", "variant_weight", "variant_image", "variant_upc"]]
  ];

  var connector = window.Connector, meta = connector.meta, session = connector.session, $ = connector.$,
      api = connector.api;


  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") { node.textContent = attrs[key]; }
      else if (key === "className") { node.className = attrs[key]; }
      else if (attrs[key] !== null && attrs[key] !== undefined && attrs[key] !== false) { node.setAttribute(key, attrs[key]); }
    });
    (children || []).forEach(function (child) { if (child) { node.appendChild(child); } });
    return node;
  }

  var state = {
    loaded: false, loading: false, doc: null, specs: {}, order: [], names: {},
    values: {}, families: {}, version: 0, family: "", dirty: false
  };

  // --- small helpers over the document ----------------------------------------------------------------

  function copy(value) { return value === undefined ? undefined : JSON.parse(JSON.stringify(value)); }

  function attrName(code) {
    if (code === null || code === undefined || code === "") { return "Not mapped"; }
    var label = state.names[code];
    if (label === undefined) { return code + " (not in the PIM any more)"; }
    return label && label !== code ? label + " (" + code + ")" : code;
  }

  function hasOverride(field) {
    var own = state.family && state.families[state.family];
    return !!own && Object.prototype.hasOwnProperty.call(own, field);
  }

  function current(field) {
    return hasOverride(field) ? state.families[state.family][field] : state.values[field];
  }

  function setValue(field, value) {
    if (state.family) {
      state.families[state.family] = state.families[state.family] || {};
      state.families[state.family][field] = value;
    } else {
      state.values[field] = value;
    }
    changed();
  }

  function inherit(field) {
    if (!state.family || !state.families[state.family]) { return; }
    delete state.families[state.family][field];
    if (!Object.keys(state.families[state.family]).length) { delete state.families[state.family]; }
    changed();
  }

  function body() {
    return { version: state.version, fields: copy(state.values), families: copy(state.families) };
  }

  // --- status ------------------------------------------------------------------------------------------

  function showResult(stateName, message, items) {
    var box = $("mapping-result");
    box.setAttribute("data-state", stateName);
    box.textContent = "";
    if (message) { box.appendChild(el("p", { className: "result-message", text: message })); }
    if (items && items.length) {
      box.appendChild(el("ul", { className: "result-hints" }, items.map(function (t) { return el("li", { text: t }); })));
    }
  }

  function setBadge(stateName, text) {
    var badge = $("mapping-badge");
    badge.setAttribute("data-state", stateName);
    badge.textContent = text;
  }

  function savedBadge() {
    if (state.dirty) { setBadge("warn", "Unsaved changes"); }
    else if (state.doc && state.doc.saved) { setBadge("ok", "Saved · version " + state.version); }
    else { setBadge("none", "Suggested defaults"); }
  }

  function changed() {
    state.dirty = true;
    savedBadge();
    schedulePreview();
  }

  // --- one field -----------------------------------------------------------------------------------------

  function optionFor(code, selected) {
    var option = el("option", { value: code, text: attrName(code) });
    option.selected = !!selected;
    return option;
  }

  /* Options of a select: the special ones, then the attributes matching the filter (the chosen one always). */
  function fillOptions(select, spec, chosen, query, specials) {
    select.textContent = "";
    specials.forEach(function (s) { select.appendChild(s); });
    var q = (query || "").trim().toLowerCase();
    var shown = 0;
    var known = false;
    spec.attributes.forEach(function (a) {
      var isChosen = a.code === chosen;
      known = known || isChosen;
      if (isChosen || !q || a.code.toLowerCase().indexOf(q) >= 0 || (a.label || "").toLowerCase().indexOf(q) >= 0) {
        select.appendChild(optionFor(a.code, isChosen));
        if (!isChosen) { shown += 1; }
      }
    });
    if (chosen && chosen !== INHERIT && !known) { select.appendChild(optionFor(chosen, true)); }
    return shown;
  }

  function filterBox(field, spec, onInput, what) {
    if (spec.attributes.length <= FILTER_AT) { return null; }
    var input = el("input", { type: "search", id: "map-" + field + "-filter", className: "map-filter", autocomplete: "off",
                              spellcheck: "false", placeholder: "Filter " + spec.attributes.length + " attributes…",
                              "aria-label": "Filter the attributes for " + what });
    input.addEventListener("input", function () { onInput(input.value); });
    return input;
  }

  function suggestionLine(field, spec) {
    var help = el("p", { className: "field-help", id: "map-" + field + "-help" });
    if (spec.help) { help.appendChild(document.createTextNode(spec.help + ". ")); }
    var suggested = spec.suggested;
    var value = current(field);
    var same = JSON.stringify(suggested || (spec.multiple ? [] : null)) === JSON.stringify(value || (spec.multiple ? [] : null));
    if (state.family) { return help; }
    if (same) {
      help.appendChild(el("span", { className: "tag tag-suggested", text: "Suggested" }));
    } else if (suggested !== null && suggested !== undefined && !(spec.multiple && !suggested.length)) {
      help.appendChild(document.createTextNode("Suggested: " + (spec.multiple ? suggested.map(attrName).join(", ") : attrName(suggested)) + " "));
      var use = el("button", { type: "button", className: "btn btn-link btn-inline", text: "Use it",
                               "aria-label": "Use the suggestion for " + spec.label });
      use.addEventListener("click", function () { setValue(field, copy(suggested)); renderField(field); });
      help.appendChild(use);
    }
    return help;
  }

  function singleField(field, spec, row) {
    var label = el("label", { "for": "map-" + field, text: spec.label });
    var select = el("select", { id: "map-" + field, name: field, "aria-describedby": "map-" + field + "-help map-" + field + "-error" });
    var chosen = hasOverride(field) || !state.family ? current(field) : INHERIT;
    function specials() {
      var list = [];
      if (state.family) {
        var global = state.values[field];
        list.push(el("option", { value: INHERIT, text: "Inherited: " + (global ? (state.names[global] || global) : "not mapped") }));
      }
      list.push(el("option", { value: "", text: "— Not mapped —" }));
      list.forEach(function (o) { o.selected = o.value === (chosen === null ? "" : chosen); });
      return list;
    }
    fillOptions(select, spec, chosen, "", specials());
    select.addEventListener("change", function () {
      chosen = select.value;
      if (chosen === INHERIT) { inherit(field); } else { setValue(field, chosen || null); }
      row.replaceChild(suggestionLine(field, spec), $("map-" + field + "-help"));
      row.classList.toggle("overridden", hasOverride(field));
    });
    var filter = filterBox(field, spec, function (q) { fillOptions(select, spec, chosen, q, specials()); }, spec.label);
    [label, filter, select, suggestionLine(field, spec), el("p", { className: "field-error", id: "map-" + field + "-error" })]
      .forEach(function (n) { if (n) { row.appendChild(n); } });
  }

  function multiField(field, spec, row) {
    var labelId = "map-" + field + "-label";
    row.appendChild(el("span", { className: "label", id: labelId, text: spec.label }));
    var inherited = !!state.family && !hasOverride(field);
    if (state.family) {
      var box = el("input", { type: "checkbox", id: "map-" + field + "-inherit" });
      box.checked = inherited;
      box.addEventListener("change", function () {
        if (box.checked) { inherit(field); } else { setValue(field, copy(state.values[field] || [])); }
        renderField(field);
        $("map-" + field + "-inherit").focus();
      });
      row.appendChild(el("label", { "for": box.id, className: "checkbox" }, [box, document.createTextNode(" Same as all families")]));
    }
    var items = (current(field) || []).slice();
    var list = el("ol", { className: "map-list", id: "map-" + field + "-list", "aria-labelledby": labelId });
    items.forEach(function (code, i) {
      var name = attrName(code);
      var li = el("li", { "data-code": code }, [el("span", { className: "map-item-name", text: name })]);
      if (field === "images" && i === 0) { li.appendChild(el("span", { className: "tag", text: "Thumbnail" })); }
      if (!inherited) {
        var tools = el("span", { className: "map-item-tools" });
        [["up", "↑", "Move " + name + " up", i > 0], ["down", "↓", "Move " + name + " down", i < items.length - 1],
         ["remove", "×", "Remove " + name, true]].forEach(function (b) {
          var button = el("button", { type: "button", className: "btn btn-link btn-icon", "data-action": b[0],
                                      "aria-label": b[2], title: b[2], text: b[1] });
          button.disabled = !b[3];
          button.addEventListener("click", function () {
            var next = items.slice();
            if (b[0] === "remove") { next.splice(i, 1); }
            else { var j = b[0] === "up" ? i - 1 : i + 1; next[i] = items[j]; next[j] = items[i]; }
            setValue(field, next);
            renderField(field);
            var again = $("map-" + field + "-list").querySelectorAll("li")[b[0] === "remove" ? Math.min(i, next.length - 1) : (b[0] === "up" ? i - 1 : i + 1)];
            var focus = again && again.querySelector('[data-action="' + b[0] + '"]:not([disabled])');
            (focus || $("map-" + field + "-add")).focus();
          });
          tools.appendChild(button);
        });
        li.appendChild(tools);
      }
      list.appendChild(li);
    });
    if (!items.length) { list.appendChild(el("li", { className: "map-empty", text: "None" })); }
    row.appendChild(list);
    var max = spec.max_items;
    row.appendChild(el("p", { className: "map-count", id: "map-" + field + "-count",
                              text: items.length + (max ? " of at most " + max : "") + " attributes" }));
    if (!inherited) {
      var add = el("select", { id: "map-" + field + "-add", "aria-label": "Add an attribute to " + spec.label,
                               "aria-describedby": "map-" + field + "-help map-" + field + "-error" });
      var pool = { attributes: spec.attributes.filter(function (a) { return items.indexOf(a.code) < 0; }) };
      var full = (!!max && items.length >= max) || !pool.attributes.length;
      var placeholder = function () {
        return [el("option", { value: "", text: !pool.attributes.length ? "Every compatible attribute is in the list"
                                               : (full ? "The list is full (" + max + ")" : "Add an attribute…") })];
      };
      fillOptions(add, pool, null, "", placeholder());
      add.disabled = full;
      add.addEventListener("change", function () {
        if (!add.value) { return; }
        setValue(field, items.concat([add.value]));
        renderField(field);
        $("map-" + field + "-add").focus();
      });
      var filter = filterBox(field, spec, function (q) { fillOptions(add, pool, null, q, placeholder()); }, spec.label);
      row.appendChild(el("div", { className: "map-add" }, [filter, add]));
    }
    row.appendChild(suggestionLine(field, spec));
    row.appendChild(el("p", { className: "field-error", id: "map-" + field + "-error" }));
  }

  function renderField(field) {
    var old = $("map-row-" + field);
    var spec = state.specs[field];
    var row = el("div", { className: "field map-field" + (spec.multiple ? " map-multi" : ""), id: "map-row-" + field, "data-field": field });
    row.classList.toggle("overridden", hasOverride(field));
    if (spec.multiple) { multiField(field, spec, row); } else { singleField(field, spec, row); }
    if (old) { old.parentNode.replaceChild(row, old); }
    return row;
  }

  function renderAll() {
    var root = $("mapping-groups");
    root.textContent = "";
    var placed = {};
    var groups = GROUPS.map(function (g) { return [g[0], g[1].filter(function (f) { placed[f] = true; return state.specs[f]; })]; });
    var rest = state.order.filter(function (f) { return !placed[f]; });
    if (rest.length) { groups.push(["Other", rest]); }
    groups.forEach(function (g) {
      if (!g[1].length) { return; }
      var set = el("fieldset", { className: "map-group" }, [el("legend", { text: g[0] })]);
      var grid = el("div", { className: "grid map-grid" });
      g[1].forEach(function (f) { grid.appendChild(renderField(f)); });
      set.appendChild(grid);
      root.appendChild(set);
    });
    root.setAttribute("aria-busy", "false");
  }

  function renderFamilies() {
    var select = $("mapping-family");
    select.textContent = "";
    select.appendChild(el("option", { value: "", text: "All families" }));
    (state.doc.family_list || []).forEach(function (f) {
      var n = state.families[f.code] ? Object.keys(state.families[f.code]).length : 0;
      var text = (f.label && f.label !== f.code ? f.label + " (" + f.code + ")" : f.code) +
                 (n ? " · " + n + (n === 1 ? " override" : " overrides") : "");
      var option = el("option", { value: f.code, text: text });
      option.selected = f.code === state.family;
      select.appendChild(option);
    });
  }

  // --- load and save ---------------------------------------------------------------------------------------

  function adopt(doc) {
    state.doc = doc;
    state.version = doc.version;
    state.specs = {};
    state.order = [];
    state.names = {};
    state.values = {};
    doc.fields.forEach(function (f) {
      state.specs[f.field] = f;
      state.order.push(f.field);
      state.values[f.field] = copy(f.value);
      f.attributes.forEach(function (a) { state.names[a.code] = a.label; });
    });
    state.families = copy(doc.families || {});
    if (state.family && !(doc.family_list || []).some(function (f) { return f.code === state.family; })) { state.family = ""; }
    state.dirty = false;
    renderFamilies();
    renderAll();
    savedBadge();
  }

  function load() {
    if (state.loading) { return; }
    state.loading = true;
    setBadge("none", "Loading…");
    showResult("busy", "Reading the attributes from the PIM…", []);
    api("GET", "/api/mapping").then(function (res) {
      state.loading = false;
      if (res.status !== 200) {
        setBadge("error", "Not available");
        showResult("error", res.data.message || ("The mapping could not be read (" + res.status + ")."), res.data.hints || []);
        return;
      }
      adopt(res.data);
      state.loaded = true;
      showResult("none", "", []);
      $("mapping-fieldset").disabled = false;
      $("preview-fieldset").disabled = false;
      $("mapping-section").setAttribute("data-loaded", "true");
    });
  }

  function clearErrors() {
    Array.prototype.forEach.call(document.querySelectorAll("#mapping-groups .field-error"), function (p) { p.textContent = ""; });
    Array.prototype.forEach.call(document.querySelectorAll("#mapping-groups [aria-invalid]"), function (n) { n.removeAttribute("aria-invalid"); });
  }

  function showErrors(fields) {
    var elsewhere = [];
    Object.keys(fields || {}).forEach(function (key) {
      var parts = key.split(".");
      var scope = parts[0] === "families" ? parts[1] : "";
      var field = parts[0] === "families" ? parts[2] : parts[0];
      var error = $("map-" + field + "-error");
      if (error && scope === state.family) {
        error.textContent = fields[key];
        var control = $("map-" + field) || $("map-" + field + "-add");
        if (control) { control.setAttribute("aria-invalid", "true"); }
      } else {
        elsewhere.push((scope ? "Family " + scope + ": " : "") + fields[key]);
      }
    });
    var first = document.querySelector("#mapping-groups [aria-invalid=true]");
    if (first) { first.focus(); }
    return elsewhere;
  }

  function save(event) {
    event.preventDefault();
    clearErrors();
    var button = $("mapping-save");
    button.disabled = true;
    showResult("busy", "Checking the mapping with the PIM's attributes…", []);
    api("PUT", "/api/mapping", body()).then(function (res) {
      button.disabled = false;
      if (res.status === 200) {
        adopt(res.data.mapping);
        showResult("ok", res.data.changed ? "Saved as version " + res.data.version +
                   ". The next import checks every product again with these choices." : "Nothing changed: the mapping was already saved like this.", []);
        schedulePreview();
        return;
      }
      if (res.status === 422) {
        var rest = showErrors(res.data.fields);
        showResult("error", "Nothing was saved: some choices are not valid.", rest);
        return;
      }
      showResult("error", res.data.message || ("Saving failed (" + res.status + ")."), res.data.hints || []);
    });
  }

  function useSuggestions() {
    state.doc.fields.forEach(function (f) {
      if (state.family) { inheritQuiet(f.field); } else { state.values[f.field] = copy(f.suggested); }
    });
    if (!state.family) { state.families = copy(state.doc.suggested_families || {}); }
    renderFamilies();
    renderAll();
    changed();
  }

  function inheritQuiet(field) {
    if (state.families[state.family]) {
      delete state.families[state.family][field];
      if (!Object.keys(state.families[state.family]).length) { delete state.families[state.family]; }
    }
  }

  function familyChanged() {
    state.family = $("mapping-family").value;
    $("mapping-suggest").textContent = state.family ? "Remove this family's overrides" : "Use the suggestions";
    renderAll();
  }

  // --- preview ------------------------------------------------------------------------------------------------

  var preview = { timer: null, seq: 0 };

  function schedulePreview() {
    clearTimeout(preview.timer);
    preview.timer = setTimeout(runPreview, PREVIEW_DELAY);
  }

  function setPreview(stateName) { $("preview-result").setAttribute("data-state", stateName); }

  function issueList(id, items) {
    var list = $(id);
    list.textContent = "";
    (items || []).forEach(function (i) {
      var where = i.item && i.item.indexOf("variant ") === 0 ? "Variant " + i.item.slice(8) + " · " : "";
      var text = typeof i === "string" ? i : where + (i.field ? i.field + ": " : "") + i.message;
      list.appendChild(el("li", { text: text }));
    });
  }

  function summary(data) {
    var p = data.payload || {};
    var parts = [["SKU", data.sku], ["Name", p.name], ["Price", p.price], ["Visible", p.is_visible === false ? "no" : "yes"]];
    if (p.weight !== undefined) { parts.push(["Weight", p.weight]); }
    if (p.variants && p.variants.length) { parts.push(["Variants", p.variants.length]); }
    if (p.images) { parts.push(["Images", p.images.length]); }
    if (p.custom_fields) { parts.push(["Custom fields", p.custom_fields.length]); }
    var dl = el("dl", { className: "preview-facts" });
    parts.forEach(function (kv) {
      if (kv[1] === undefined || kv[1] === null || kv[1] === "") { return; }
      dl.appendChild(el("div", {}, [el("dt", { text: kv[0] }), el("dd", { text: String(kv[1]) })]));
    });
    return dl;
  }

  function runPreview() {
    var code = $("preview-code").value.trim();
    var error = $("preview-code-error");
    if (!code || !state.loaded) { setPreview("none"); return; }
    var kind = $("preview-kind").value;
    var request = { mapping: body() };
    request[kind] = code;
    var seq = ++preview.seq;
    setPreview("busy");
    $("preview-summary").textContent = "Building the payload…";
    api("POST", "/api/mapping/preview", request).then(function (res) {
      if (seq !== preview.seq) { return; } // a newer preview is on its way
      error.textContent = "";
      $("preview-code").removeAttribute("aria-invalid");
      var details = $("preview-details");
      if (res.status !== 200) {
        setPreview("error");
        details.hidden = true;
        issueList("preview-errors", []);
        issueList("preview-warnings", []);
        var message = res.status === 422 && res.data.fields && !res.data.fields.identifier && !res.data.fields.model
          ? "Fix the mapping's errors to see a preview." : (res.data.message || ("The preview failed (" + res.status + ")."));
        $("preview-summary").textContent = message;
        if (res.status === 404 || (res.data.fields && (res.data.fields.identifier || res.data.fields.model))) {
          error.textContent = message;
          $("preview-code").setAttribute("aria-invalid", "true");
        }
        return;
      }
      var data = res.data;
      setPreview(data.errors.length ? "error" : (data.warnings.length ? "warning" : "ok"));
      var box = $("preview-summary");
      box.textContent = "";
      (data.notes || []).forEach(function (n) { box.appendChild(el("p", { className: "preview-note", text: n })); });
      box.appendChild(summary(data));
      if (data.errors.length) { box.appendChild(el("p", { className: "preview-note", text: "The import would not send this product:" })); }
      issueList("preview-errors", data.errors);
      issueList("preview-warnings", data.warnings);
      $("preview-payload").textContent = JSON.stringify(data.payload, null, 2);
      details.hidden = false;
    });
  }

  // --- enabling: both connections green (config.js updates the badges) --------------------------------------

  function bothGreen() {
    var pim = $("pim-badge"), bc = $("bc-badge");
    return !!pim && !!bc && pim.getAttribute("data-state") === "ok" && bc.getAttribute("data-state") === "ok";
  }

  var wasGreen = false;

  function connectionsChanged() {
    var on = bothGreen();
    $("mapping-locked").hidden = on;
    $("mapping-section").setAttribute("data-enabled", on ? "true" : "false");
    if (on && (!wasGreen || !state.dirty)) {
      // Newly green, or re-tested credentials (maybe another PIM): read the mapping again, never over unsaved edits.
      state.loaded = false;
      load();
    } else if (!on) {
      $("mapping-fieldset").disabled = true;
      $("preview-fieldset").disabled = true;
      setBadge("none", "Not available yet");
    }
    wasGreen = on;
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!$("mapping-section")) { return; }
    $("mapping-form").addEventListener("submit", save);
    $("mapping-family").addEventListener("change", familyChanged);
    $("mapping-suggest").addEventListener("click", useSuggestions);
    $("preview-code").addEventListener("input", schedulePreview);
    $("preview-kind").addEventListener("change", schedulePreview);
    var observer = new MutationObserver(function (records) {
      if (records.some(function (r) { return r.attributeName === "data-state"; })) { connectionsChanged(); }
    });
    ["pim-badge", "bc-badge"].forEach(function (id) {
      if ($(id)) { observer.observe($(id), { attributes: true, attributeFilter: ["data-state"] }); }
    });
    wasGreen = bothGreen();
    if ($("mapping-section").getAttribute("data-enabled") === "true") { load(); }
  });
})();
