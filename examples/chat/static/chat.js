// The chat page: connects to wsgate with wsgate.js, then joins a room through
// the chat backend (never wsgate's API, which refuses browsers). Every line,
// join and leave arrives as a push from wsgate.
import { WsGate } from "/js/wsgate.js";

const $ = (id) => document.getElementById(id);
const { wsURL } = await (await fetch("/config")).json();
let me = null; // {name, room} once the form is sent
let clientId = null; // the current connection's id

const gw = new WsGate(wsURL);
gw.addEventListener("connecting", () => setStatus("connecting", "connecting…"));
gw.addEventListener("connected", (e) => {
  clientId = e.detail.clientId;
  setStatus("open", "connected");
  join(); // a new id on every connection: join again
});
gw.addEventListener("disconnected", (e) => {
  clientId = null;
  setStatus("idle", e.detail.willReconnect ? "reconnecting…" : "disconnected");
});
gw.addEventListener("message", (e) => receive(JSON.parse(e.detail.data)));

$("join-form").addEventListener("submit", (e) => {
  e.preventDefault();
  me = { name: $("name").value.trim(), room: $("room").value.trim() };
  if (clientId) join();
  else gw.connect();
});

$("say-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const text = $("text").value.trim();
  if (!text || !clientId) return;
  const r = await post("/say", { client_id: clientId, text });
  if (r.ok) $("text").value = "";
});

async function join() {
  if (!me || !clientId) return;
  const r = await post("/join", { client_id: clientId, ...me });
  const body = await r.json();
  if (!r.ok) {
    $("join-error").textContent = body.error;
    return;
  }
  $("join-form").hidden = true;
  $("chat").hidden = false;
  $("room-title").textContent = "#" + me.room;
  showMembers(body.members);
  $("text").focus();
}

function receive(m) {
  switch (m.type) {
    case "chat":
      add(m.from === me.name ? "mine" : "", m.text, m.from);
      break;
    case "join":
    case "leave":
      add("notice", `${m.name} ${m.type === "join" ? "joined" : "left"}`);
      showMembers(m.members);
      break;
  }
}

function add(cls, text, from) {
  const li = document.createElement("li");
  if (cls) li.className = cls;
  if (from) {
    const b = document.createElement("span");
    b.className = "from";
    b.textContent = from;
    li.append(b);
  }
  li.append(text);
  const list = $("messages");
  list.append(li);
  list.scrollTop = list.scrollHeight;
}

function showMembers(names) {
  $("members").replaceChildren(...names.toSorted().map((n) => {
    const li = document.createElement("li");
    li.textContent = n;
    if (n === me.name) li.className = "me";
    return li;
  }));
}

function setStatus(cls, text) {
  $("status").className = "status " + cls;
  $("status").textContent = text;
}

function post(path, body) {
  return fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
}
