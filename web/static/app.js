// The landing page: language switch and a login that shows who you are.
(function () {
  "use strict";
  const I18N = window.ZD_I18N;
  let lang = localStorage.getItem("zd.lang") || "zh";
  const $ = (id) => document.getElementById(id);
  const t = (key) => I18N[lang][key];

  function applyLang() {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    document.querySelectorAll("[data-i18n]").forEach((el) => {
      const v = t(el.dataset.i18n);
      if (typeof v === "string") el.textContent = v;
    });
    $("lang").textContent = t("switchTo");
    document.title = lang === "zh" ? "众队 Zhongdui" : "Zhongdui 众队";
  }

  function setError(field, message) {
    const input = $(field);
    const out = $(field + "-error");
    if (out) out.textContent = message || "";
    if (input) input.setAttribute("aria-invalid", message ? "true" : "false");
  }

  function clearErrors() {
    ["phone", "password", "form"].forEach((f) => setError(f, ""));
  }

  // Show a problem+json next to the field it names.
  function showProblem(problem) {
    const errors = (problem && problem.errors) || [];
    let shown = false;
    errors.forEach((e) => {
      if ($(e.field + "-error")) { setError(e.field, e.message); shown = true; }
    });
    if (!shown) {
      let msg = (problem && problem.detail) || t("errors").network;
      if (problem && problem.status === 401) msg = t("errors").login;
      if (problem && problem.status === 429) msg = t("errors").rate;
      setError("form", msg);
    }
  }

  async function showMe(token) {
    const res = await fetch("/api/v1/me", { headers: { Authorization: "Bearer " + token } });
    if (!res.ok) { sessionStorage.removeItem("zd.token"); return; }
    const me = await res.json();
    $("me-name").textContent = me.display_name;
    $("me-role").textContent = t("roles")[me.role] || me.role;
    $("me-team").textContent = (me.volunteer && me.volunteer.team_name) || (me.team_ids ? me.team_ids.length + (lang === "zh" ? " 支队伍" : " teams") : "—");
    $("login-card").hidden = true;
    $("me-card").hidden = false;
  }

  $("lang").addEventListener("click", () => {
    lang = lang === "zh" ? "en" : "zh";
    localStorage.setItem("zd.lang", lang);
    applyLang();
  });

  $("login").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors();
    const phone = $("phone").value.trim();
    const password = $("password").value;
    if (!phone) { setError("phone", t("errors").required); return; }
    if (!password) { setError("password", t("errors").required); return; }
    try {
      const res = await fetch("/api/v1/auth/login", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ phone, password }),
      });
      const body = await res.json().catch(() => null);
      if (!res.ok) { showProblem(body); return; }
      sessionStorage.setItem("zd.token", body.token);
      await showMe(body.token);
    } catch (e) {
      setError("form", t("errors").network);
    }
  });

  $("logout").addEventListener("click", () => {
    sessionStorage.removeItem("zd.token");
    $("me-card").hidden = true;
    $("login-card").hidden = false;
  });

  applyLang();
  const saved = sessionStorage.getItem("zd.token");
  if (saved) showMe(saved);
})();
