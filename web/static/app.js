// The landing page: log in (or sign up as a resident), then go to the page for your role.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  let me = null;

  function showMe() {
    if (!me) return;
    $("me-name").textContent = me.display_name;
    $("me-role").textContent = ZD.t("rolename." + me.role);
    $("me-team").textContent = (me.volunteer && me.volunteer.team_name) || (me.team_ids ? ZD.t("me.teams", { n: me.team_ids.length }) : ZD.t("none"));
    $("open-home").href = ZD.homeOf(me.role);
    $("login-card").hidden = true;
    $("register-card").hidden = true;
    $("me-card").hidden = false;
  }

  async function loadMe() {
    try { me = await ZD.api("GET", "/me", undefined, { noRedirect: true }); showMe(); }
    catch (_) { sessionStorage.removeItem("zd.token"); }
  }

  async function logIn(phone, password) {
    const body = await ZD.post("/auth/login", { phone, password }, { noRedirect: true });
    ZD.saveSession(body.token, body.user);
    location.href = ZD.homeOf(body.user.role);
  }

  ZD.start();
  ZD.onLang(showMe);
  const loginForm = $("login");
  ZD.onSubmit(loginForm, async (f) => {
    try { await logIn(f.get("phone").trim(), f.get("password")); }
    catch (e) {
      if (e.status === 401) { ZD.fieldError(loginForm, "_form", ZD.t("err.login")); return; }
      throw e;
    }
  });
  $("show-register").addEventListener("click", () => {
    const card = $("register-card");
    card.hidden = !card.hidden;
    $("show-register").setAttribute("aria-expanded", String(!card.hidden));
    if (!card.hidden) $("reg-name").focus();
  });
  ZD.onSubmit($("register"), async (f) => {
    const phone = f.get("phone").trim(), password = f.get("password");
    await ZD.post("/auth/register", { phone, password, display_name: f.get("display_name").trim() }, { noRedirect: true });
    await logIn(phone, password);
  });
  if (ZD.token()) loadMe();
})();
