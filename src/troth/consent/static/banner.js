/* troth consent banner, no dependencies; how it works (GPC included): docs/consent.md.
 * <script src="/static/troth-banner.js" data-api="/api" defer></script> */
(function () {
  "use strict";
  var script = document.currentScript;
  var api = ((script && script.getAttribute("data-api")) || "/api").replace(/\/$/, "");
  var purposes = [], policy = {}, state = null, dialog = null, opener = null;
  var browserGpc = navigator.globalPrivacyControl === true;

  function rememberGpc() {  // for troth's SDK on the app's server; cleared when GPC is off
    document.cookie = "troth_gpc=" + (browserGpc ? "1; Max-Age=31536000" : "; Max-Age=0") +
      "; Path=/; SameSite=Lax";
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) node.textContent = text;
    return node;
  }

  function call(path, body, tries) {
    var init = { credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body) {
      init.method = "POST";
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(api + path, init).then(function (r) {
      if (!r.ok) { var error = new Error("HTTP " + r.status); error.status = r.status; throw error; }
      return r.json();
    }).catch(function (error) {  // a read met by a passing fault (network, 5xx, 429): ask again
      var passing = !error.status || error.status >= 500 || error.status === 429;
      tries = tries || 0;
      if (body || !passing || tries >= 2) throw error;
      return new Promise(function (again) { setTimeout(again, 400 << tries); })
        .then(function () { return call(path, body, tries + 1); });
    });
  }

  function gpcOn() { return browserGpc || (state && state.gpc); }

  function announce(next) {
    state = next;
    document.dispatchEvent(new CustomEvent("troth:consent", { detail: next }));
  }

  var css = ".troth-back{position:fixed;inset:0;background:rgba(0,0,0,.45);z-index:2147483646;" +
    "display:flex;align-items:flex-end;justify-content:center}" +
    ".troth-dlg{background:#fff;color:#111;max-width:40rem;width:100%;max-height:90vh;" +
    "overflow:auto;padding:1.25rem;border-radius:.5rem .5rem 0 0;font:16px/1.45 system-ui,sans-serif}" +
    ".troth-dlg h2{font-size:1.25rem;margin:0 0 .5rem}.troth-dlg fieldset{border:0;padding:0;margin:1rem 0}" +
    ".troth-row{display:flex;gap:.6rem;align-items:flex-start;margin:.6rem 0}" +
    ".troth-row input{width:1.25rem;height:1.25rem;margin-top:.15rem}.troth-hint{display:block;color:#444;font-size:.9rem}" +
    ".troth-btns{display:flex;flex-wrap:wrap;gap:.5rem;justify-content:flex-end}" +
    ".troth-btns button,.troth-open{font:inherit;padding:.5rem 1rem;border:2px solid #1a4d8f;" +
    "border-radius:.35rem;background:#fff;color:#1a4d8f;cursor:pointer}.troth-btns .troth-main{background:#1a4d8f;color:#fff}" +
    ".troth-dlg :focus-visible,.troth-open:focus-visible{outline:3px solid #e8a317;outline-offset:2px}" +
    ".troth-open{position:fixed;left:1rem;bottom:1rem;z-index:2147483645;font-size:.85rem}" +
    ".troth-note{position:fixed;right:1rem;bottom:1rem;z-index:2147483645;max-width:26rem;background:#fff;" +
    "color:#111;border:2px solid #1a4d8f;border-radius:.5rem;padding:1rem;font:15px/1.45 system-ui,sans-serif}" +
    ".troth-note h2{font-size:1.05rem;margin:0 0 .4rem}.troth-note ul{margin:.4rem 0;padding-left:1.2rem}";

  function focusables() {
    return Array.prototype.filter.call(
      dialog.querySelectorAll("button,input:not([disabled]),a[href]"),
      function (n) { return n.offsetParent !== null; });
  }

  function onKey(event) {
    if (event.key === "Escape") { event.preventDefault(); close(); return; }
    if (event.key !== "Tab") return;
    var items = focusables(), first = items[0], last = items[items.length - 1];
    if (event.shiftKey && document.activeElement === first) { event.preventDefault(); last.focus(); }
    else if (!event.shiftKey && document.activeElement === last) { event.preventDefault(); first.focus(); }
  }

  function hint(p, current) {
    var parts = [];
    if (p.description) parts.push(p.description);
    if (p.gpc && gpcOn() && !(current && current.confirmed_over_gpc)) {
      parts.push("Off: your browser sends Global Privacy Control. Allowing it asks you to confirm.");
    }
    else if (current && current.needs_reconsent) parts.push("Changed in the new policy: please confirm again.");
    else if (p.consent === "opt_out" || p.revocable) parts.push("On unless you switch it off.");
    return parts.join(" ");
  }

  function build() {
    var back = el("div", { "class": "troth-back" });
    dialog = el("div", { role: "dialog", "aria-modal": "true", "aria-labelledby": "troth-title",
      "aria-describedby": "troth-desc", "class": "troth-dlg", tabindex: "-1" });
    dialog.appendChild(el("h2", { id: "troth-title" }, "Your privacy choices"));
    var desc = el("p", { id: "troth-desc" }, "We ask before we use your data for the purposes below" +
      (policy.version ? " (privacy policy version " + (state.policy_version || policy.version) + "). " : ". ") +
      "You can change your mind at any time.");
    if (policy.url) {
      desc.appendChild(document.createTextNode(" "));
      desc.appendChild(el("a", { href: policy.url, target: "_blank", rel: "noopener" }, "Read the privacy policy"));
    }
    dialog.appendChild(desc);
    var set = el("fieldset");
    set.appendChild(el("legend", {}, "Purposes"));
    purposes.forEach(function (p, i) {
      var current = state.purposes[p.key] || {};
      var row = el("div", { "class": "troth-row" });
      var box = el("input", { type: "checkbox", id: "troth-p" + i, "data-key": p.key,
        "aria-describedby": "troth-h" + i });
      box.checked = current.allowed === true;
      var label = el("label", { "for": "troth-p" + i }, p.name);
      label.appendChild(el("span", { id: "troth-h" + i, "class": "troth-hint" }, hint(p, current)));
      row.appendChild(box);
      row.appendChild(label);
      set.appendChild(row);
    });
    dialog.appendChild(set);
    dialog.appendChild(el("p", { role: "status", "aria-live": "polite", id: "troth-status" }));
    dialog.appendChild(el("div", { id: "troth-confirm", hidden: "hidden" }));
    var btns = el("div", { "class": "troth-btns" });
    [["Reject all", false], ["Save choices", null], ["Accept all", true]].forEach(function (b) {
      var button = el("button", { type: "button", "class": b[1] === true ? "troth-main" : "" }, b[0]);
      button.addEventListener("click", function () { save(b[1]); });
      btns.appendChild(button);
    });
    dialog.appendChild(btns);
    dialog.addEventListener("keydown", onKey);
    back.appendChild(dialog);
    return back;
  }

  function open() {
    if (dialog || !state) return;
    opener = document.activeElement;
    document.body.appendChild(build());
    var first = dialog.querySelector("input:not([disabled])") || dialog;
    first.focus();
  }

  function close() {
    if (!dialog) return;
    dialog.removeEventListener("keydown", onKey);
    dialog.parentNode.remove();
    dialog = null;
    if (opener && opener.focus) opener.focus();
  }

  function chosen(all) {
    var choices = {};
    dialog.querySelectorAll("input[data-key]").forEach(function (box) {
      choices[box.getAttribute("data-key")] = all === null ? box.checked : all;
    });
    return choices;
  }

  function overGpc(choices) {
    return purposes.filter(function (p) {
      var current = state.purposes[p.key] || {};
      return p.gpc && choices[p.key] && !current.confirmed_over_gpc;
    });
  }

  function save(all) {
    var choices = chosen(all);
    var conflicts = gpcOn() ? overGpc(choices) : [];
    if (conflicts.length) { askToConfirm(choices, conflicts); return; }
    send(choices, []);
  }

  function askToConfirm(choices, conflicts) {
    var box = dialog.querySelector("#troth-confirm");
    box.textContent = "";
    box.removeAttribute("hidden");
    var names = conflicts.map(function (p) { return p.name; }).join(", ");
    box.appendChild(el("p", { id: "troth-confirm-text" }, "Your browser sends Global Privacy Control, " +
      "which asks us not to sell or share your data. You chose to allow: " + names + ". Allow it anyway?"));
    var row = el("div", { "class": "troth-btns" });
    var keep = el("button", { type: "button" }, "No, keep it off");
    var yes = el("button", { type: "button", "class": "troth-main" }, "Yes, allow it");
    keep.addEventListener("click", function () {
      conflicts.forEach(function (p) { choices[p.key] = false; });
      send(choices, []);
    });
    yes.addEventListener("click", function () {
      send(choices, conflicts.map(function (p) { return p.key; }));
    });
    row.appendChild(keep);
    row.appendChild(yes);
    box.appendChild(row);
    yes.focus();
  }

  function send(choices, confirmed) {
    var status = dialog.querySelector("#troth-status");
    status.textContent = "Saving…";
    call("/consent", { choices: choices, policy_version: state.policy_version,
      notice_version: policy.version || null, gpc: browserGpc, confirm_gpc: confirmed })
      .then(function (next) { announce(next); close(); })
      .catch(function (error) {
        if (error.status === 409) {  // the server saw GPC: ask
          status.textContent = "";
          askToConfirm(choices, overGpc(choices));
          return;
        }
        status.textContent = "Your choices could not be saved. Please try again.";
      });
  }

  function showNotice(notice) {  // a material change, announced in the app (docs/consent.md)
    var box = el("section", { "class": "troth-note", role: "region", "aria-labelledby": "troth-note-title" });
    box.appendChild(el("h2", { id: "troth-note-title" }, "Our privacy policy has changed"));
    box.appendChild(el("p", {}, "Version " + notice.version + ", posted " + notice.posted_at.slice(0, 10) +
      (notice.changes.length ? ". What changes:" : ".")));
    var list = el("ul");
    notice.changes.forEach(function (c) { list.appendChild(el("li", {}, c)); });
    if (notice.changes.length) box.appendChild(list);
    var btns = el("div", { "class": "troth-btns" });
    if (notice.url) btns.appendChild(el("a", { href: notice.url, target: "_blank", rel: "noopener" }, "Read the policy"));
    var ok = el("button", { type: "button", "class": "troth-main" }, "Got it");
    ok.addEventListener("click", function () {
      call("/consent/notice", { version: notice.version }).then(function () {
        box.remove();
        document.dispatchEvent(new CustomEvent("troth:notice", { detail: notice }));
      }).catch(function () { ok.textContent = "Could not save; try again"; });
    });
    btns.appendChild(ok);
    box.appendChild(btns);
    document.body.appendChild(box);
  }

  function start() {
    var style = el("style");
    style.textContent = css;
    document.head.appendChild(style);
    rememberGpc();
    Promise.all([call("/consent/purposes"), call("/consent" + (browserGpc ? "?gpc=true" : ""))]).then(function (got) {
      policy = got[0].policy || {};
      purposes = got[0].purposes || [];
      announce(got[1]);
      if (state.notice) showNotice(state.notice);
      if (!purposes.length) return;
      var reopen = el("button", { type: "button", "class": "troth-open", "aria-haspopup": "dialog" },
        "Privacy choices");
      reopen.addEventListener("click", open);
      document.body.appendChild(reopen);
      if (state.reprompt) open();
    }).catch(function () { /* no banner without the API; the server keeps the defaults */ });
  }

  window.trothConsent = { open: open, state: function () { return state; } };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
