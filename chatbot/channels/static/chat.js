// A minimal chat page over Rasa's REST channel (the full widget comes later).
(function () {
  const log = document.getElementById("log");
  const form = document.getElementById("send");
  const input = document.getElementById("message");
  let sender = sessionStorage.getItem("chat-sender");
  if (!sender) {
    sender = crypto.randomUUID();
    sessionStorage.setItem("chat-sender", sender);
  }

  function add(cls, text) {
    const div = document.createElement("div");
    div.className = cls;
    div.textContent = text;
    log.appendChild(div);
    log.scrollTop = log.scrollHeight;
    return div;
  }

  async function send(message, shown) {
    add("user", shown || message);
    const res = await fetch("/webhooks/rest/webhook", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sender: sender, message: message }),
    });
    const replies = res.ok ? await res.json() : [];
    for (const reply of replies) {
      if (reply.text) {
        const div = add("bot", reply.text);
        for (const b of reply.buttons || []) {
          const btn = document.createElement("button");
          btn.className = "choice";
          btn.type = "button";
          btn.textContent = b.title;
          btn.addEventListener("click", () => send(b.payload, b.title));
          div.appendChild(document.createElement("br"));
          div.appendChild(btn);
        }
      }
    }
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (text) { input.value = ""; send(text); }
  });
})();
