// vardkedja's clinician page: plain JavaScript against /graphql of the same server; no build
// step, nothing from the internet. Data is written with textContent only (never as HTML).
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const ENDPOINT = window.location.pathname.replace(/\/app\/?$/, "") + "/graphql";
  const state = { token: sessionStorage.getItem("vardkedja-token") || "", patient: null, emergency: null };

  function say(text, isError) {
    $("message").textContent = text || "";
    $("message").className = isError ? "error" : "";
  }

  function claims(token) {
    try {
      const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(decodeURIComponent(escape(atob(part))));
    } catch (e) {
      return null;
    }
  }

  async function graphql(body, emergency) {
    const headers = { "Content-Type": "application/json", Accept: "application/json" };
    if (state.token) headers.Authorization = "Bearer " + state.token;
    if (emergency) {
      headers["X-Purpose-Of-Use"] = "ETREAT";
      // A header cannot carry UTF-8 from a browser: RFC 8187's ext-value form instead.
      headers["X-Emergency-Reason"] = "UTF-8''" + encodeURIComponent(emergency.reason);
    }
    const response = await fetch(ENDPOINT, { method: "POST", headers, body: JSON.stringify(body) });
    const answer = await response.json();
    if (!response.ok && !answer.errors) throw new Error("HTTP " + response.status);
    return answer;
  }

  function errorText(error) {
    const code = error.extensions && error.extensions.code;
    const where = error.path ? error.path.join(".") + ": " : "";
    return where + error.message + (code ? " (" + code + ")" : "");
  }

  function element(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  // --- sign in --------------------------------------------------------------------------

  function showWho() {
    const c = state.token ? claims(state.token) : null;
    $("who").textContent = c
      ? (c.name || c.sub) + " · " + c.kind + (c.care_unit ? " · " + c.care_unit : "")
      : "Not signed in";
    $("log").hidden = !(c && (c.kind === "patient" || c.kind === "proxy"));
    $("token").value = state.token;
  }

  $("signin-button").addEventListener("click", () => {
    const token = $("token").value.trim();
    if (!claims(token)) return say("That is not a token (three base64 parts).", true);
    state.token = token;
    sessionStorage.setItem("vardkedja-token", token);
    showWho();
    say("Signed in.");
  });

  $("signout-button").addEventListener("click", () => {
    state.token = "";
    sessionStorage.removeItem("vardkedja-token");
    showWho();
    say("Signed out.");
  });

  // --- search ---------------------------------------------------------------------------

  const SEARCH = `query Search($filter: PatientFilter!) {
    patients(filter: $filter, first: 20) { nodes { id personnummer givenName familyName birthDate } }
  }`;

  $("search-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const q = $("query").value.trim();
    if (!q) return;
    const digits = q.replace(/[-+\s]/g, "");
    const filter = /^\d{10,12}$/.test(digits) ? { personnummer: [q] } : { familyName: q };
    $("results").replaceChildren();
    try {
      const answer = await graphql({ query: SEARCH, variables: { filter } });
      if (answer.errors) return say(answer.errors.map(errorText).join("; "), true);
      const nodes = answer.data.patients.nodes;
      say(nodes.length ? "" : "No patient that you may see matches.");
      for (const p of nodes) {
        const item = element("li");
        const button = element("button", p.familyName + ", " + p.givenName + " (" + p.personnummer + ")");
        button.type = "button";
        button.className = "patient";
        button.addEventListener("click", () => choose(p));
        item.append(button);
        $("results").append(item);
      }
    } catch (e) {
      say("Search failed: " + e.message, true);
    }
  });

  // --- overview -------------------------------------------------------------------------

  function choose(patient) {
    state.patient = patient;
    state.emergency = null;
    $("blocked").replaceChildren();
    $("step2").disabled = true;
    $("reason").value = "";
    load();
  }

  function list(title, connection, describe) {
    const box = element("div");
    const total = connection ? connection.totalCount : 0;
    box.append(element("h3", title + " (" + total + ")"));
    const items = element("ul");
    for (const node of (connection && connection.nodes) || []) {
      if (node === null) items.append(element("li", "Withheld (not visible to you)", "notice"));
      else items.append(element("li", describe(node)));
    }
    box.append(items);
    return box;
  }

  const unit = (n) => (n.careUnit ? " · " + n.careUnit.name : "");
  const day = (t) => (t ? String(t).slice(0, 10) : "");

  async function load() {
    const patient = state.patient;
    $("overview").hidden = false;
    $("patient-name").textContent = patient.familyName + ", " + patient.givenName + " (" + patient.personnummer + ")";
    $("emergency-banner").hidden = !state.emergency;
    const sections = $("sections");
    sections.replaceChildren(element("p", "Loading…"));
    try {
      const answer = await graphql(
        { operationName: "EmergencyOverview", variables: { personnummer: patient.personnummer } },
        state.emergency,
      );
      sections.replaceChildren();
      for (const error of answer.errors || []) sections.append(element("p", "Withheld: " + errorText(error), "notice"));
      const p = answer.data && answer.data.patient;
      if (!p) {
        sections.append(element("p", "Not visible to you: no care relationship here, a block, or no consent. The attempt is logged.", "notice"));
        return;
      }
      state.patient.id = p.id;
      sections.append(
        list("Alerts", p.alerts, (a) => [a.alertType, a.description, a.severity].filter(Boolean).join(" · ") + unit(a)),
        list("Current medication", p.prescriptions, (m) => [m.drugName, m.strength, m.dosageText].filter(Boolean).join(" · ") + unit(m)),
        list("Recent care contacts", p.careContacts, (c) => [day(c.eventTime), c.contactType, c.reason].filter(Boolean).join(" · ") + unit(c)),
        list("Diagnoses", p.diagnoses, (d) => [day(d.eventTime), d.code, d.display].filter(Boolean).join(" · ") + unit(d)),
      );
    } catch (e) {
      sections.replaceChildren(element("p", "Could not load: " + e.message, "error"));
    }
  }

  // --- emergency access in two steps ----------------------------------------------------

  const BLOCKED = `query Blocked($id: ID!) { emergencyBlockedProviders(patientId: $id) { name hsaId } }`;

  $("step1").addEventListener("click", async () => {
    const reason = $("reason").value.trim();
    if (!reason) return say("Emergency access needs a reason.", true);
    if (!state.patient || !state.patient.id) return say("Open a patient first.", true);
    const answer = await graphql({ query: BLOCKED, variables: { id: state.patient.id } }, { reason });
    $("blocked").replaceChildren();
    if (answer.errors) return say(answer.errors.map(errorText).join("; "), true);
    const providers = answer.data.emergencyBlockedProviders || [];
    for (const provider of providers) $("blocked").append(element("li", provider.name + " (" + provider.hsaId + ")"));
    if (!providers.length) $("blocked").append(element("li", "No other provider holds blocked information."));
    $("step2").disabled = false;
    say("Step 1 is logged for review. Step 2 opens the record with your reason.");
  });

  $("step2").addEventListener("click", () => {
    state.emergency = { reason: $("reason").value.trim() };
    load();
  });

  // --- the patient's own access log -----------------------------------------------------

  const LOG = `query Log { myAccessLog(first: 50) { occurredAt personName careUnitName purpose action } }`;

  $("log-button").addEventListener("click", async () => {
    const answer = await graphql({ query: LOG });
    if (answer.errors) return say(answer.errors.map(errorText).join("; "), true);
    const rows = $("log-rows");
    rows.replaceChildren();
    for (const e of answer.data.myAccessLog || []) {
      const row = element("tr");
      for (const value of [String(e.occurredAt).replace("T", " ").slice(0, 16), e.personName, e.careUnitName, e.purpose, e.action]) {
        row.append(element("td", value));
      }
      rows.append(row);
    }
  });

  showWho();
  document.body.dataset.ready = "true"; // every handler is attached
})();
