/*
 * Health and work chat widget. Plain JavaScript, no framework, no inline code or styles
 * (works under a Content-Security-Policy of 'self'). Embed with:
 *
 *   <div id="health-work-chat"></div>
 *   <script src="https://ASSISTANT/webhooks/web/widget.js" data-server="https://ASSISTANT" defer></script>
 *
 * Options on the script tag: data-server (the assistant; default: where this script comes
 * from), data-source (a share-link source id; "?ref=" on the page wins), data-container
 * (an element id; default "health-work-chat").
 *
 * It talks to Rasa's socket.io channel over HTTP long-polling only (the websocket transport
 * fails under Rasa 3.6 on Python 3.11). Every piece of text from the assistant is put on the
 * page as text (textContent), never as HTML. See docs/web-widget.md.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || !script.src) {
    return; // we need our own address to find the stylesheet and the socket.io client
  }
  var BASE = new URL(".", script.src).href; // .../webhooks/web/
  var CONFIG = {
    server: script.getAttribute("data-server") || new URL(script.src).origin,
    socketPath: script.getAttribute("data-socket-path") || "/socket.io",
    container: script.getAttribute("data-container") || "health-work-chat",
    source: script.getAttribute("data-source") || "",
  };

  var SESSION_KEY = "hwc.session"; // localStorage: {id, seen, sourceSent}: a random id, nothing said
  var TRANSCRIPT_KEY = "hwc.transcript"; // sessionStorage: what was said, gone when the tab closes
  var IDLE_MS = 60 * 60 * 1000; // as domain.yml's session_expiration_time (60 minutes)
  var SETTLE_MS = 200; // messages of one turn that arrive this close together are shown together
  var MAX_SETTLE_MS = 1000;
  var NO_REPLY_MS = 20000;
  var MAX_ENTRIES = 300;
  var SOURCE_ID = /^[A-Za-z0-9_-]{1,64}$/; // as knowledge/sources.yaml's ids
  var USER_EVENT = "user_uttered";
  var BOT_EVENT = "bot_uttered";

  // ---- storage (may be unavailable: private modes, sandboxed frames) ----

  function readJSON(store, key) {
    try {
      var raw = store.getItem(key);
      return raw ? JSON.parse(raw) : null;
    } catch (e) {
      return null;
    }
  }

  function writeJSON(store, key, value) {
    try {
      store.setItem(key, JSON.stringify(value));
    } catch (e) {
      /* storage full or refused: the chat still works, it just forgets on reload */
    }
  }

  function local() {
    try {
      return window.localStorage;
    } catch (e) {
      return null;
    }
  }

  function tab() {
    try {
      return window.sessionStorage;
    } catch (e) {
      return null;
    }
  }

  function newSessionId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map
      .call(bytes, function (b) {
        return ("0" + b.toString(16)).slice(-2);
      })
      .join("");
  }

  function loadSession() {
    var saved = local() && readJSON(local(), SESSION_KEY);
    var fresh =
      !saved ||
      typeof saved.id !== "string" ||
      !/^[0-9a-f]{32}$/.test(saved.id) ||
      typeof saved.seen !== "number" ||
      Date.now() - saved.seen > IDLE_MS;
    if (fresh) {
      return { id: newSessionId(), seen: Date.now(), sourceSent: false, isNew: true };
    }
    return { id: saved.id, seen: saved.seen, sourceSent: !!saved.sourceSent, isNew: false };
  }

  function saveSession() {
    session.seen = Date.now();
    if (local()) {
      writeJSON(local(), SESSION_KEY, { id: session.id, seen: session.seen, sourceSent: session.sourceSent });
    }
  }

  function saveTranscript() {
    if (tab()) {
      writeJSON(tab(), TRANSCRIPT_KEY, { id: session.id, entries: entries.slice(-MAX_ENTRIES), services: services });
    }
  }

  function sourceForThisPage() {
    var ref = "";
    try {
      ref = new URLSearchParams(window.location.search).get("ref") || "";
    } catch (e) {
      ref = "";
    }
    var source = ref || CONFIG.source;
    return SOURCE_ID.test(source) ? source : "";
  }

  // ---- small DOM helpers: text only, never HTML ----

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function str(value) {
    return typeof value === "string" ? value : value === undefined || value === null ? "" : String(value);
  }

  var URL_IN_TEXT = /https:\/\/[^\s<>"]+[^\s<>".,;:!?)\]']/g;

  // Text with its line breaks (CSS pre-wrap) and https addresses as links; all of it as text nodes.
  function appendText(parent, text) {
    var last = 0;
    text.replace(URL_IN_TEXT, function (url, at) {
      parent.appendChild(document.createTextNode(text.slice(last, at)));
      var link = el("a", "hwc-link", url);
      link.href = url;
      link.rel = "noopener noreferrer";
      parent.appendChild(link);
      last = at + url.length;
      return url;
    });
    parent.appendChild(document.createTextNode(text.slice(last)));
    return parent;
  }

  function formatDate(iso) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(str(iso));
    if (!m) return str(iso);
    var date = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
    try {
      return date.toLocaleDateString("en-GB", { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });
    } catch (e) {
      return str(iso);
    }
  }

  // ---- state ----

  var session = loadSession();
  var entries = []; // {t: "user"|"bot"|"cards"|"referral"|"note", ...}: the transcript, as data
  var services = {}; // service_id -> name, from recommendation cards (for the referral panel)
  var nodes = typeof WeakMap === "function" ? new WeakMap() : null; // entry -> its element
  var socket = null;
  var ioClient = null; // the socket.io client, loaded with the page; connected on first use
  var ready = false; // connected and session confirmed: replies will reach us
  var outbox = [];
  var pending = [];
  var settleTimer = null;
  var firstPendingAt = 0;
  var noReplyTimer = null;
  var ui = null;
  var uid = "hwc-" + Math.random().toString(36).slice(2, 8);

  var saved = tab() && readJSON(tab(), TRANSCRIPT_KEY);
  if (saved && saved.id === session.id && Array.isArray(saved.entries)) {
    entries = saved.entries.filter(function (e) {
      return e && typeof e === "object" && typeof e.t === "string";
    });
    services = saved.services && typeof saved.services === "object" ? saved.services : {};
  } else if (!session.isNew) {
    entries = [{ t: "note", text: "You are carrying on an earlier conversation. To begin afresh, choose Start again." }];
  }

  // ---- building the widget ----

  function build(root) {
    root.classList.add("hwc");
    root.hidden = true; // shown when its stylesheet has loaded

    var section = el("section", "hwc-panel");
    section.setAttribute("aria-labelledby", uid + "-title");

    var head = el("div", "hwc-head");
    var title = el("h2", "hwc-title", "Health and work chat");
    title.id = uid + "-title";
    var restart = el("button", "hwc-restart", "Start again");
    restart.type = "button";
    // On a shared reception PC: the next person must not see, or carry on, this conversation.
    var clear = el("button", "hwc-restart hwc-clear", "End chat and clear");
    clear.type = "button";
    head.appendChild(title);
    head.appendChild(restart);
    head.appendChild(clear);
    restart.hidden = clear.hidden = true; // shown once there is a conversation (showControls)

    var intro = el(
      "p",
      "hwc-intro",
      "You are chatting with a computer, not a person. If you are in danger now, call 999."
    );

    var log = el("div", "hwc-log");
    log.setAttribute("role", "log");
    log.setAttribute("aria-live", "polite");
    log.setAttribute("aria-label", "Conversation");
    log.tabIndex = 0; // so the conversation can be scrolled with the keyboard

    var welcome = el("div", "hwc-turn hwc-turn-bot hwc-welcome");
    welcome.appendChild(
      el(
        "p",
        "hwc-msg hwc-bot",
        "What is happening with your health and work? Tell me in your own words, and say where you live."
      )
    );
    log.appendChild(welcome);

    var typing = el("div", "hwc-typing");
    typing.setAttribute("aria-hidden", "true");
    typing.hidden = true;
    typing.appendChild(el("span", "hwc-dot"));
    typing.appendChild(el("span", "hwc-dot"));
    typing.appendChild(el("span", "hwc-dot"));
    log.appendChild(typing);

    var status = el("p", "hwc-status");
    status.setAttribute("role", "status");

    var form = el("form", "hwc-form");
    form.noValidate = true;
    var label = el("label", "hwc-label", "Type your message");
    label.htmlFor = uid + "-input";
    var row = el("div", "hwc-row");
    var input = el("input", "hwc-input");
    input.id = uid + "-input";
    input.type = "text";
    input.autocomplete = "off";
    input.maxLength = 1000;
    input.setAttribute("enterkeyhint", "send");
    input.setAttribute("autocapitalize", "sentences");
    var sendButton = el("button", "hwc-send", "Send");
    sendButton.type = "submit";
    row.appendChild(input);
    row.appendChild(sendButton);
    form.appendChild(label);
    form.appendChild(row);

    section.appendChild(head);
    section.appendChild(intro);
    section.appendChild(log);
    section.appendChild(status);
    section.appendChild(form);
    root.appendChild(section);

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = input.value.trim();
      if (text) {
        input.value = "";
        say(text, text);
      }
      input.focus();
    });
    restart.addEventListener("click", startAgain);
    clear.addEventListener("click", endAndClear);

    return {
      root: root,
      log: log,
      typing: typing,
      status: status,
      input: input,
      form: form,
      welcome: welcome,
      restart: restart,
      clear: clear,
    };
  }

  function renderEntry(entry) {
    var node;
    if (entry.t === "user") {
      node = el("p", "hwc-msg hwc-user");
      node.appendChild(el("span", "hwc-sr", "You said: "));
      node.appendChild(document.createTextNode(str(entry.text)));
    } else if (entry.t === "bot") {
      node = el("div", "hwc-bot-entry");
      node.appendChild(appendText(el("p", "hwc-msg hwc-bot"), str(entry.text)));
      if (Array.isArray(entry.choices) && entry.choices.length) {
        node.appendChild(renderChoices(entry.choices));
      }
    } else if (entry.t === "cards") {
      node = renderCards(entry);
    } else if (entry.t === "referral") {
      node = renderReferral(entry);
    } else {
      node = el("p", "hwc-note", str(entry.text));
    }
    if (nodes) nodes.set(entry, node);
    return node;
  }

  function renderChoices(choices) {
    var group = el("div", "hwc-choices");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "Choose an answer");
    choices.forEach(function (choice) {
      var button = el("button", "hwc-choice", str(choice.title));
      button.type = "button";
      button.addEventListener("click", function () {
        say(str(choice.payload), str(choice.title));
        // Not the message box: on a phone that opens the keyboard over the next question and
        // scrolls it away. The conversation keeps the focus, so Tab reaches the next choices.
        ui.log.focus({ preventScroll: true });
      });
      group.appendChild(button);
    });
    return group;
  }

  // Short cards (issue 19): the name, why it fits, the first step, when it was checked. The
  // rest (every reason, caveats, the whole next step) is behind "More about these services".
  function renderCards(entry) {
    var box = el("div", "hwc-cards-box");
    var list = el("ol", "hwc-cards");
    list.setAttribute("aria-label", "Services that could help, best fit first");
    (Array.isArray(entry.items) ? entry.items : []).forEach(function (item) {
      if (!item || typeof item !== "object") return;
      var card = el("li", "hwc-card");
      card.appendChild(el("h3", "hwc-card-title", str(item.name)));
      var why = item.why || (Array.isArray(item.reasons) ? item.reasons.join("; ") : "");
      if (why) card.appendChild(el("p", "hwc-card-why", why));
      var next = item.first_step || item.next_step;
      if (next) card.appendChild(appendText(el("p", "hwc-next"), str(next).trim()));
      if (item.checked) {
        card.appendChild(el("p", "hwc-checked", str(item.checked)));
      } else if (item.last_verified) {
        card.appendChild(el("p", "hwc-checked", "Checked " + formatDate(item.last_verified)));
      }
      list.appendChild(card);
    });
    box.appendChild(list);
    if (entry.keep) {
      var save = el("button", "hwc-save", "Save or print these details");
      save.type = "button";
      save.addEventListener("click", function () {
        printDetails(entry.keep);
      });
      box.appendChild(save);
    }
    return box;
  }

  // The latest referral's reference, for the page a person keeps.
  function latestReference() {
    for (var i = entries.length - 1; i >= 0; i--) {
      if (entries[i].t === "referral" && entries[i].reference) return entries[i].reference;
    }
    return "";
  }

  // A clean page to print or save as PDF: services, how to contact them, the reference, the
  // date and help now. No conversation text: a page left on a printer shows no health details.
  function printDetails(keep) {
    var old = document.querySelector(".hwc-print-sheet");
    if (old) old.parentNode.removeChild(old);
    var sheet = el("div", "hwc-print-sheet");
    sheet.setAttribute("aria-hidden", "true"); // for paper only; the cards are on screen already
    sheet.appendChild(el("h1", null, str(keep.title) || "Your details"));
    sheet.appendChild(el("p", "hwc-print-date", formatDate(keep.date)));
    (Array.isArray(keep.services) ? keep.services : []).forEach(function (service) {
      sheet.appendChild(el("h2", null, str(service.name)));
      sheet.appendChild(el("p", null, str(service.how_to_contact)));
    });
    var reference = latestReference() || str(keep.reference);
    if (reference) sheet.appendChild(el("p", "hwc-print-ref", "Your referral reference: " + reference));
    sheet.appendChild(el("h2", null, "If you need help now"));
    var help = el("ul");
    (Array.isArray(keep.help_now) ? keep.help_now : []).forEach(function (line) {
      help.appendChild(el("li", null, str(line)));
    });
    sheet.appendChild(help);
    document.body.appendChild(sheet);
    document.documentElement.classList.add("hwc-printing");
    function done() {
      document.documentElement.classList.remove("hwc-printing");
      window.removeEventListener("afterprint", done);
    }
    window.addEventListener("afterprint", done);
    window.print();
  }

  function renderReferral(entry) {
    var box = el("div", "hwc-confirm");
    var service = services[str(entry.service_id)];
    var delivered = entry.status === "delivered";
    box.appendChild(el("h3", "hwc-confirm-title", "Referral sent"));
    var ref = el("p", "hwc-confirm-ref");
    ref.appendChild(el("span", "hwc-confirm-label", "Your reference"));
    ref.appendChild(el("strong", "hwc-reference", str(entry.reference)));
    box.appendChild(ref);
    var where = service ? " to " + service : " to the service";
    box.appendChild(
      el("p", null, (delivered ? "The details have reached the service" : "The details are on their way" + where) + ".")
    );
    box.appendChild(el("p", null, "Please keep the reference. You can use it to withdraw your consent."));
    return box;
  }

  // Entries after the last thing the person said form the current turn.
  function appendTurn(newEntries, who) {
    if (!newEntries.length) return null;
    var group = el("div", "hwc-turn hwc-turn-" + who);
    if (who === "bot") group.appendChild(el("span", "hwc-sr", "The assistant said: "));
    newEntries.forEach(function (entry) {
      group.appendChild(renderEntry(entry));
    });
    ui.log.insertBefore(group, ui.typing);
    return group;
  }

  function renderAll() {
    var run = [];
    entries.forEach(function (entry) {
      if (entry.t === "user") {
        appendTurn(run, "bot");
        run = [];
        appendTurn([entry], "user");
      } else {
        run.push(entry);
      }
    });
    appendTurn(run, "bot");
    ui.log.scrollTop = ui.log.scrollHeight;
    showControls();
  }

  // Where a turn scrolls to: its start, unless that would push its end (the question the
  // person must answer) out of view; then its end. `top` and `bottom` are in the scrolling
  // area's coordinates, `room` is how much of it is visible.
  function scrollTarget(top, bottom, room, max) {
    return Math.max(0, Math.min(max, Math.max(top - 12, bottom - room + 12)));
  }

  // Bring what just arrived into view. On a wide screen the conversation scrolls inside
  // itself; on a phone it grows and the page is the one scrolling area, with the message box
  // kept at the bottom of the screen (widget.css), so the page scrolls instead.
  function reveal(group) {
    var log = ui.log;
    var ownScroll = window.getComputedStyle(log).overflowY !== "visible";
    var target = group || ui.typing;
    if (ownScroll) {
      var max = log.scrollHeight - log.clientHeight;
      if (!group) {
        log.scrollTop = max;
        return;
      }
      var top = group.offsetTop;
      log.scrollTop = scrollTarget(top, top + group.offsetHeight, log.clientHeight, max);
      return;
    }
    var rect = target.getBoundingClientRect();
    var formTop = ui.form.getBoundingClientRect().top;
    var room = Math.min(window.innerHeight, formTop > 0 ? formTop : window.innerHeight);
    var y = window.pageYOffset;
    var pageMax = document.documentElement.scrollHeight - window.innerHeight;
    window.scrollTo(0, scrollTarget(rect.top + y, rect.bottom + y, room, pageMax));
  }

  function clearChoices() {
    var groups = ui.log.querySelectorAll(".hwc-choices");
    Array.prototype.forEach.call(groups, function (group) {
      group.parentNode.removeChild(group);
    });
    entries.forEach(function (entry) {
      if (entry.choices) delete entry.choices;
    });
  }

  // "Start again" and "End chat and clear" only once something has been said.
  function showControls() {
    var said = entries.some(function (entry) {
      return entry.t !== "note" || !session.isNew;
    });
    ui.restart.hidden = ui.clear.hidden = !said;
  }

  function setStatus(text) {
    if (ui.status.textContent !== text) ui.status.textContent = text;
  }

  function showTyping(on) {
    ui.typing.hidden = !on;
    ui.root.setAttribute("data-waiting", on ? "true" : "false");
    clearTimeout(noReplyTimer);
    if (on) {
      reveal(null);
      noReplyTimer = setTimeout(function () {
        showTyping(false);
        setStatus("No reply yet. Please check your connection, or try again in a moment.");
      }, NO_REPLY_MS);
    }
  }

  // ---- talking to the assistant ----

  function say(message, shown) {
    clearChoices();
    entries.push({ t: "user", text: shown });
    var group = appendTurn([entries[entries.length - 1]], "user");
    showControls();
    saveTranscript();
    var data = { message: message, session_id: session.id };
    if (!session.sourceSent) {
      var source = sourceForThisPage();
      if (source) {
        // Rasa's socket.io channel reads the key named by `metadata_key` in credentials.yml:
        // "metadata" by default, "customData" in rasa-webchat's convention. Send both.
        var meta = { source: source, channel: "web" };
        data.customData = meta;
        data.metadata = meta;
      }
      session.sourceSent = true;
    }
    saveSession();
    outbox.push(data);
    reveal(group);
    showTyping(true);
    ensureConnected();
    pump();
  }

  // A page nobody types into opens no connection: the first focus, tap or message does.
  function ensureConnected() {
    if (!socket && ioClient) connect(ioClient);
  }

  function pump() {
    while (ready && socket && outbox.length) {
      socket.emit(USER_EVENT, outbox.shift());
    }
  }

  function received(message) {
    if (!message || typeof message !== "object") return;
    pending.push(message);
    var now = Date.now();
    if (!firstPendingAt) firstPendingAt = now;
    clearTimeout(settleTimer);
    settleTimer = setTimeout(flush, now - firstPendingAt >= MAX_SETTLE_MS ? 0 : SETTLE_MS);
  }

  // A card's name as the text gives it: its first line, without the number of a numbered list.
  function firstLine(text) {
    return str(text).split("\n")[0].replace(/^\d+\.\s+/, "").trim().toLowerCase();
  }

  // The bot also sends the recommendations as text ("1. <name>\nWhy: ...") before the
  // {"recommendations": [...]} payload, for channels that cannot show cards. Here the cards
  // take the place of that text, so nothing is shown or announced twice.
  function foldCards(fresh, items, keep) {
    var names = {};
    items.forEach(function (item) {
      if (item && typeof item === "object") {
        names[firstLine(item.name)] = true;
        services[str(item.service_id)] = str(item.name);
      }
    });
    function isCardText(entry) {
      return entry.t === "bot" && !entry.choices && names[firstLine(entry.text)] === true;
    }
    var cards = { t: "cards", items: items, keep: keep && typeof keep === "object" ? keep : null };
    var shown = [];
    for (var i = entries.length - 1; i >= 0 && entries[i].t !== "user"; i--) {
      if (isCardText(entries[i])) shown.unshift(entries[i]);
    }
    var placed = false;
    shown.forEach(function (entry) {
      var node = nodes && nodes.get(entry);
      var at = entries.indexOf(entry);
      if (!placed && node) {
        entries[at] = cards;
        node.parentNode.replaceChild(renderEntry(cards), node);
        placed = true;
      } else if (node) {
        entries.splice(at, 1);
        node.parentNode.removeChild(node);
      }
    });
    var out = [];
    fresh.forEach(function (entry) {
      if (!isCardText(entry)) {
        out.push(entry);
      } else if (!placed) {
        out.push(cards);
        placed = true;
      }
    });
    if (!placed) out.push(cards);
    return out;
  }

  function flush() {
    clearTimeout(settleTimer);
    var messages = pending;
    pending = [];
    firstPendingAt = 0;
    var fresh = [];
    messages.forEach(function (message) {
      var choices = message.quick_replies || message.buttons;
      if (Array.isArray(message.recommendations)) {
        fresh = foldCards(fresh, message.recommendations, message.keep);
      } else if (message.referral && typeof message.referral === "object") {
        fresh.push({
          t: "referral",
          reference: str(message.referral.reference),
          service_id: str(message.referral.service_id),
          status: str(message.referral.status),
        });
      } else if (typeof message.text === "string" && message.text.trim()) {
        var entry = { t: "bot", text: message.text };
        if (Array.isArray(choices) && choices.length) {
          entry.choices = choices
            .filter(function (c) {
              return c && typeof c === "object" && (c.title || c.payload);
            })
            .map(function (c) {
              return { title: str(c.title || c.payload), payload: str(c.payload || c.title) };
            });
        }
        fresh.push(entry);
      }
    });
    showTyping(false);
    setStatus("");
    entries = entries.concat(fresh);
    if (entries.length > MAX_ENTRIES) entries = entries.slice(-MAX_ENTRIES);
    var group = appendTurn(fresh, "bot");
    saveTranscript();
    saveSession();
    if (group) reveal(group);
  }

  // What was said, off the page and out of memory (both "Start again" and "End chat and clear").
  function clearPage() {
    clearTimeout(settleTimer);
    pending = [];
    firstPendingAt = 0;
    entries = [];
    services = {};
    var turns = ui.log.querySelectorAll(".hwc-turn:not(.hwc-welcome)");
    Array.prototype.forEach.call(turns, function (turn) {
      turn.parentNode.removeChild(turn);
    });
    showControls();
  }

  function startAgain() {
    clearPage();
    say("/start_again", "Start again");
    ui.input.focus();
  }

  // Forget this conversation in this browser: its transcript, and the session id that led
  // to it on the server (a new random one replaces it, so nothing here can resume it; the
  // server-side record then only ages out under the retention rules).
  function endAndClear() {
    clearPage();
    if (local()) local().removeItem(SESSION_KEY);
    if (tab()) tab().removeItem(TRANSCRIPT_KEY);
    session = { id: newSessionId(), seen: Date.now(), sourceSent: false, isNew: true };
    showControls();
    if (socket) {
      ready = false;
      socket.emit("session_request", { session_id: session.id });
    }
    ui.input.value = "";
    // Shown, not kept: a reload after this shows nothing of the ended chat.
    appendTurn([{ t: "note", text: "Chat ended and cleared from this browser. The next person starts afresh." }], "bot");
    ui.input.focus();
  }

  function connect(io) {
    socket = io(CONFIG.server, {
      path: CONFIG.socketPath,
      transports: ["polling"],
      reconnectionDelayMax: 10000,
    });
    socket.on("connect", function () {
      ready = false;
      socket.emit("session_request", { session_id: session.id });
    });
    socket.on("session_confirm", function () {
      ready = true;
      ui.root.setAttribute("data-connected", "true");
      setStatus("");
      pump();
    });
    socket.on("disconnect", function () {
      ready = false;
      ui.root.setAttribute("data-connected", "false");
    });
    socket.on("connect_error", function () {
      setStatus("Cannot reach the assistant just now. Trying again…");
    });
    socket.on(BOT_EVENT, received);
  }

  // ---- loading: our stylesheet, then the socket.io client, without disturbing the host page ----

  function loadStyles(done) {
    var href = BASE + "widget.css";
    var existing = document.querySelector('link[rel="stylesheet"][href="' + href + '"]');
    if (existing) return done();
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = href;
    var finished = false;
    function once() {
      if (!finished) {
        finished = true;
        done();
      }
    }
    link.onload = once;
    link.onerror = once;
    setTimeout(once, 3000);
    document.head.appendChild(link);
  }

  function loadClient(done) {
    var previous = window.io;
    var tag = document.createElement("script");
    tag.src = BASE + "vendor/socket.io.min.js";
    tag.async = true;
    tag.onload = function () {
      var io = window.io;
      if (previous === undefined) {
        try {
          delete window.io;
        } catch (e) {
          window.io = undefined;
        }
      } else {
        window.io = previous; // leave the host page's own socket.io client alone
      }
      if (typeof io === "function") {
        done(io);
      } else {
        setStatus("The chat could not start. Please reload the page.");
      }
    };
    tag.onerror = function () {
      setStatus("The chat could not load. Please check your connection and reload the page.");
    };
    document.head.appendChild(tag);
  }

  function start() {
    var root = document.getElementById(CONFIG.container);
    if (!root || root.getAttribute("data-hwc") === "started") return;
    root.setAttribute("data-hwc", "started");
    ui = build(root);
    renderAll();
    saveTranscript();
    loadStyles(function () {
      ui.root.hidden = false;
      ui.log.scrollTop = ui.log.scrollHeight;
      ui.input.addEventListener("focus", ensureConnected);
      ui.root.addEventListener("pointerdown", ensureConnected);
      loadClient(function (io) {
        ioClient = io;
        if (outbox.length) ensureConnected(); // a message sent before the client loaded
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
