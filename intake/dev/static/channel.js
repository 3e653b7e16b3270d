// The local support channel: each thread's card drawn by the official Adaptive Cards renderer
// (npm "adaptivecards", served from /dev/vendor/), seen as the person picked above. A click
// sends POST /api/messages the adaptiveCard/action invoke Teams sends; the card in the answer
// is what that person now sees. Others' views follow the channel message (polled from
// /dev/api/channel). For people in the card's refresh.userIds (scrum masters), the page sends
// the refresh invoke Teams sends automatically, to show their user-specific view.
"use strict";

// An ISO timestamp as people read it (the same shape the server renders): 2026-11-25 22:21 UTC.
function when(timestamp) {
  const moment = new Date(timestamp);
  if (isNaN(moment)) return String(timestamp);
  return moment.toISOString().slice(0, 16).replace("T", " ") + " UTC";
}

(function () {
  const root = document.getElementById("channel");
  const picker = document.getElementById("person");
  const threadsBox = document.getElementById("threads");
  const viewLabel = document.getElementById("view");
  const config = root.dataset;
  const POLL_MS = 2000;
  let people = [];
  let me = null;
  const shown = new Map(); // activity id -> {updatedAt, person}: the message version on screen
  // Teams on a phone stacks a card's buttons one per row and lets their titles wrap; on a
  // wide screen it puts them side by side. The page does the same, so no button is cut to
  // "Not o…" on a narrow screen; a change of width redraws every card.
  const narrow = window.matchMedia("(max-width: 599px)");
  narrow.addEventListener("change", () => shown.clear());

  // Card text is markdown with every typed character backslash-escaped (see
  // intake/triage_card.py). Shown as plain text: the escapes dropped, then HTML-escaped, so
  // nothing a person typed can become markup or a link.
  AdaptiveCards.AdaptiveCard.onProcessMarkdown = function (text, result) {
    result.outputHtml = escapeHtml(text.replace(/\\(.)/g, "$1")).replace(/\n/g, "<br>");
    result.didProcess = true;
  };

  function escapeHtml(text) {
    return text
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;")
      .replace(/'/g, "&#39;");
  }

  function randomId() {
    return Math.random().toString(16).slice(2) + Date.now().toString(16);
  }

  // The invoke activity Teams sends for an Action.Execute (same shape as
  // tests/e2e/client.py invoke_activity).
  function invokeActivity(thread, person, action, trigger) {
    const now = new Date().toISOString();
    return {
      type: "invoke",
      name: "adaptiveCard/action",
      id: "f:" + randomId(),
      timestamp: now,
      localTimestamp: now,
      serviceUrl: config.serviceUrl,
      channelId: "msteams",
      from: { id: person.teams_id, name: person.name, aadObjectId: person.aad_object_id },
      conversation: {
        isGroup: true,
        conversationType: "channel",
        tenantId: config.tenantId,
        id: thread.conversation_id,
      },
      recipient: { id: config.botId, name: "Intake" },
      entities: [{ type: "clientInfo", locale: "en-US", platform: "Web" }],
      channelData: {
        channel: { id: thread.conversation_id.split(";")[0] },
        tenant: { id: config.tenantId },
        source: { name: "message" },
      },
      replyToId: thread.activity_id,
      value: {
        action: { type: "Action.Execute", id: action.id, verb: action.verb, data: action.data },
        trigger: trigger,
      },
      locale: "en-US",
    };
  }

  async function sendInvoke(thread, action, trigger) {
    const answer = await fetch("/api/messages", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(invokeActivity(thread, me, action, trigger)),
    });
    if (!answer.ok) {
      throw new Error("the bot answered HTTP " + answer.status);
    }
    return answer.json();
  }

  function articleFor(thread) {
    let article = threadsBox.querySelector('article[data-activity-id="' + thread.activity_id + '"]');
    if (!article) {
      article = document.createElement("article");
      article.className = "thread";
      article.dataset.activityId = thread.activity_id;
      threadsBox.append(article); // oldest first, the newest last (as Teams shows a channel)
    }
    if (!article.querySelector(".card-slot")) {
      article.replaceChildren();
      const meta = document.createElement("p");
      meta.className = "muted meta";
      const slot = document.createElement("div");
      slot.className = "card-slot";
      const status = document.createElement("p");
      status.className = "status muted";
      article.append(meta, slot, status);
    }
    article.querySelector(".meta").textContent =
      "Intake bot · " + when(thread.posted_at) + (thread.updates ? " · updated " + thread.updates + "×" : "");
    return article;
  }

  function say(article, text, isError) {
    const status = article.querySelector(".status");
    status.textContent = text || "";
    status.classList.toggle("error", Boolean(isError));
  }

  function hostConfig() {
    const config = AdaptiveCards.defaultHostConfig;
    config.actions.allowTitleToWrap = true;
    config.actions.actionsOrientation = narrow.matches
      ? AdaptiveCards.Orientation.Vertical
      : AdaptiveCards.Orientation.Horizontal;
    config.actions.actionAlignment = narrow.matches
      ? AdaptiveCards.ActionAlignment.Stretch
      : AdaptiveCards.ActionAlignment.Left;
    return config;
  }

  function draw(thread, card, article) {
    const adaptiveCard = new AdaptiveCards.AdaptiveCard();
    adaptiveCard.hostConfig = hostConfig();
    adaptiveCard.onExecuteAction = function (action) {
      onAction(thread, action, article);
    };
    adaptiveCard.parse(card);
    article.querySelector(".card-slot").replaceChildren(adaptiveCard.render());
    article.dataset.seenAs = me ? me.teams_id : ""; // whose view this is (tests wait for it)
  }

  // What an invoke answered: a card replaces the clicker's view; anything else is a line.
  function showAnswer(thread, answer, article) {
    if (answer.type === "application/vnd.microsoft.card.adaptive") {
      draw(thread, answer.value, article);
      say(article, "");
    } else if (answer.type === "application/vnd.microsoft.activity.message") {
      say(article, String(answer.value), false);
    } else {
      say(article, (answer.value && answer.value.message) || "The bot refused the action.", true);
    }
  }

  async function onAction(thread, action, article) {
    if (action instanceof AdaptiveCards.ExecuteAction) {
      say(article, "Sending…");
      try {
        // action.data: the action's data merged with the card's inputs, as Teams sends it.
        const answer = await sendInvoke(
          thread,
          { id: action.id || action.verb, verb: action.verb, data: action.data || {} },
          "manual"
        );
        // The clicker keeps this card until the channel message changes (as in Teams).
        showAnswer(thread, answer, article);
      } catch (error) {
        say(article, "The click did not get through: " + error.message, true);
      }
    } else if (action instanceof AdaptiveCards.OpenUrlAction) {
      window.open(action.url, "_blank", "noopener");
    }
  }

  async function showThread(thread) {
    const article = articleFor(thread);
    const card = thread.card;
    const userIds = (card.refresh && card.refresh.userIds) || [];
    if (me && card.refresh && userIds.indexOf(me.teams_id) >= 0) {
      try {
        const answer = await sendInvoke(thread, card.refresh.action, "automatic");
        showAnswer(thread, answer, article);
        return;
      } catch (error) {
        say(article, "The refresh did not get through: " + error.message, true);
      }
    }
    draw(thread, card, article);
  }

  async function poll() {
    try {
      const answer = await fetch("/dev/api/channel");
      const threads = await answer.json();
      const empty = document.getElementById("no-threads");
      if (empty && threads.length) {
        empty.remove();
      }
      for (const thread of threads) {
        const seen = shown.get(thread.activity_id);
        const current = seen && seen.person === me.teams_id;
        if (current && seen.updatedAt === thread.updated_at) {
          continue;
        }
        shown.set(thread.activity_id, { updatedAt: thread.updated_at, person: me.teams_id });
        await showThread(thread);
      }
    } catch (error) {
      viewLabel.textContent = "Cannot reach the local host: " + error.message;
    }
    window.setTimeout(poll, POLL_MS);
  }

  function choose(teamsId) {
    me = people.find((p) => p.teams_id === teamsId) || people[0];
    window.localStorage.setItem("intake.person", me.teams_id);
    picker.value = me.teams_id;
    viewLabel.textContent = me.role === "scrum_master" ? "You see the scrum master's view." : "";
    shown.clear();
  }

  async function start() {
    // The channel's members only: a client is not in the support channel.
    people = (await (await fetch("/dev/api/users")).json()).filter((p) => p.role !== "client");
    // ?as=<teams id> picks a person (a link for a demo); else the last one picked here.
    const asked = new URLSearchParams(window.location.search).get("as");
    choose(asked || window.localStorage.getItem("intake.person") || picker.value);
    picker.addEventListener("change", () => {
      choose(picker.value);
    });
    poll();
  }

  start();
})();
