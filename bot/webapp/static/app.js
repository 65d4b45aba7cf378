// The CRM Mini App: loads server-rendered views (HTML from the bot, every value escaped there),
// sends changes as JSON, follows Telegram's theme, BackButton and MainButton. No framework, no build.
(function () {
  "use strict";
  var tg = (window.Telegram && window.Telegram.WebApp) || null;
  var base = document.body.dataset.base || "";
  var view = document.getElementById("view");
  var toast = document.getElementById("toast");
  var stack = [];
  var current = null;
  var picked = null; // the board card whose stage menu is open
  var mainHandler = null;

  function initData() { return tg ? tg.initData || "" : ""; }

  function theme() {
    var root = document.documentElement;
    var params = (tg && tg.themeParams) || {};
    Object.keys(params).forEach(function (key) {
      root.style.setProperty("--tg-" + key.replace(/_/g, "-"), params[key]);
    });
    root.dataset.theme = (tg && tg.colorScheme) || "light";
  }

  function say(text) {
    toast.textContent = text;
    toast.hidden = false;
    clearTimeout(say.timer);
    say.timer = setTimeout(function () { toast.hidden = true; }, 3000);
  }

  function request(method, path, body) {
    var options = { method: method, headers: { Authorization: "tma " + initData() } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(base + path, options);
  }

  function failed(response) {
    return response.json().then(function (data) { say(data.message || response.statusText); return data; },
      function () { say(response.statusText); return {}; });
  }

  function query(params) {
    var out = new URLSearchParams();
    Object.keys(params || {}).forEach(function (k) { if (params[k]) out.set(k, params[k]); });
    var s = out.toString();
    return s ? "?" + s : "";
  }

  function show(target, push) {
    if (push && current) stack.push(current);
    current = target;
    return request("GET", "/f/" + target.path + query(target.params)).then(function (response) {
      if (!response.ok) return failed(response);
      return response.text().then(function (html) {
        view.innerHTML = html;
        document.body.dataset.view = target.path.split("/")[0];
        after();
      });
    }, function () { say("⚠"); });
  }

  function go(path, params) { return show({ path: path, params: params || {} }, true); }
  function reload() { return current ? show(current, false) : go("board"); }

  function back() {
    if (!stack.length) return;
    show(stack.pop(), false);
  }

  function after() {
    if (tg && tg.BackButton) { if (stack.length) tg.BackButton.show(); else tg.BackButton.hide(); }
    var main = view.querySelector("[data-main]");
    if (tg && tg.MainButton) {
      if (mainHandler) { tg.MainButton.offClick(mainHandler); mainHandler = null; }
      if (main) {
        mainHandler = function () { submit(main); };
        tg.MainButton.setText(main.dataset.main);
        tg.MainButton.onClick(mainHandler);
        tg.MainButton.show();
      } else {
        tg.MainButton.hide();
      }
    }
    watchMore();
  }

  var observer = "IntersectionObserver" in window ? new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) { if (entry.isIntersecting) more(entry.target); });
  }) : null;

  function watchMore() {
    view.querySelectorAll("[data-more]").forEach(function (el) {
      if (observer) observer.observe(el); else more(el);
    });
  }

  function more(el) {
    if (el.dataset.loading) return;
    el.dataset.loading = "1";
    if (observer) observer.unobserve(el);
    request("GET", "/f/clients?" + el.dataset.more).then(function (response) {
      if (!response.ok) return failed(response);
      return response.text().then(function (html) {
        el.insertAdjacentHTML("afterend", html);
        el.remove();
        watchMore();
      });
    });
  }

  function fields(form) {
    var data = {};
    new FormData(form).forEach(function (value, key) { data[key] = value; });
    return data;
  }

  function submit(form) {
    request("POST", "/api/" + form.dataset.post, fields(form)).then(function (response) {
      if (!response.ok) return failed(response);
      return response.json().then(function (data) { say(data.message); reload(); });
    });
  }

  function move(deal, version, stage, reason) {
    var body = { version: Number(version), stage: stage };
    if (reason) body.reason = reason;
    return request("POST", "/api/deals/" + deal + "/stage", body).then(function (response) {
      if (response.ok) return response.json().then(function (d) { say(d.message); reload(); });
      return failed(response).then(function (data) {
        if (data.error === "reason_required") return askReason(deal, version);
        if (response.status === 409 || response.status === 404) reload();
      });
    });
  }

  function menu() { return document.getElementById("stage-menu"); }

  function openMenu(card) {
    var dialog = menu();
    picked = card.dataset;
    dialog.querySelector(".reason").hidden = true;
    dialog.querySelector("textarea").value = "";
    if (dialog.showModal) dialog.showModal(); else dialog.setAttribute("open", "");
  }

  function closeMenu() { var d = menu(); if (d && d.open) d.close(); }

  function askReason(deal, version) {
    var dialog = menu();
    picked = { d: deal, v: version };
    if (!dialog.open) { if (dialog.showModal) dialog.showModal(); else dialog.setAttribute("open", ""); }
    dialog.querySelector(".reason").hidden = false;
    dialog.querySelector("textarea").focus();
  }

  document.addEventListener("click", function (event) {
    var el = event.target.closest("button, a, li[data-d], li[data-client]");
    if (!el) return;
    var ds = el.dataset;
    if (ds.go) { stack = []; current = null; go(ds.go); return; }
    if (el.matches("li[data-d]")) { openMenu(el); return; }
    if (ds.client) { event.preventDefault(); go("clients/" + ds.client); return; }
    if (ds.stageTo && picked) {
      if (ds.stageTo === "lost") { askReason(picked.d, picked.v); return; }
      var p = picked; closeMenu(); move(p.d, p.v, ds.stageTo); return;
    }
    if ("lostOk" in ds && picked) {
      var reason = menu().querySelector("textarea").value.trim();
      var q = picked; closeMenu(); move(q.d, q.v, "lost", reason); return;
    }
    if ("openClient" in ds && picked) { var c = picked.c; closeMenu(); go("clients/" + c); return; }
    if ("close" in ds) { closeMenu(); return; }
    if (ds.act) {
      var li = el.closest("[data-reminder]");
      request("POST", "/api/reminders/" + li.dataset.reminder + "/" + ds.act).then(function (response) {
        if (!response.ok) return failed(response).then(reload);
        return response.json().then(function (d) { say(d.message); reload(); });
      });
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    event.preventDefault();
    if (form.dataset.post) { submit(form); return; }
    if (form.dataset.view) show({ path: form.dataset.view, params: fields(form) }, false);
  });

  var typing = null;
  document.addEventListener("input", function (event) {
    var el = event.target;
    if (el.name !== "q" || !el.form) return;
    clearTimeout(typing);
    typing = setTimeout(function () {
      show({ path: "clients", params: fields(el.form) }, false).then(function () {
        var box = view.querySelector("input[name=q]");
        if (box) { box.focus(); box.setSelectionRange(box.value.length, box.value.length); }
      });
    }, 300);
  });

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest("li[data-d]");
    if (!card) return;
    event.dataTransfer.setData("text/plain", card.dataset.d + ":" + card.dataset.v);
  });
  document.addEventListener("dragover", function (event) {
    if (event.target.closest && event.target.closest("section.col")) event.preventDefault();
  });
  document.addEventListener("drop", function (event) {
    var column = event.target.closest && event.target.closest("section.col");
    if (!column) return;
    event.preventDefault();
    var parts = (event.dataTransfer.getData("text/plain") || "").split(":");
    if (parts.length !== 2) return;
    if (column.dataset.stage === "lost") askReason(parts[0], parts[1]);
    else move(parts[0], parts[1], column.dataset.stage);
  });

  if (tg) {
    tg.ready();
    if (tg.expand) tg.expand();
    if (tg.onEvent) tg.onEvent("themeChanged", theme);
    if (tg.BackButton) tg.BackButton.onClick(back);
  }
  theme();
  go("board");
})();
