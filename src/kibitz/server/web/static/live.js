// Kibitz live updates for a codemark's page: new replies, reactions and status changes without a reload.
// The page works without this script. It listens to the team's event stream (the browser's session cookie
// authenticates it) and, when an event concerns this codemark, fetches the page again and swaps in the
// parts that changed: the server renders everything, so what appears here is escaped and cleaned as on
// any page. Replies being edited (focus or an open editor inside) are left alone.
(function () {
  "use strict";
  var root = document.getElementById("codemark");
  if (!root || !window.WebSocket || !window.fetch || !window.DOMParser) { return; }
  var codemarkId = root.getAttribute("data-codemark");
  var teamId = root.getAttribute("data-team");
  var after = parseInt(root.getAttribute("data-head"), 10) || 0;
  var delay = 1000;
  var pending = null;

  function concernsUs(event) {
    var data = event.data || {};
    return data.id === codemarkId || data.codemark_id === codemarkId;
  }

  function busy(element) {
    return element.contains(document.activeElement) || element.querySelector("details[open]") !== null;
  }

  function swap(id, fresh) {
    var current = document.getElementById(id);
    var replacement = fresh.getElementById(id);
    if (current && replacement && !busy(current)) { current.replaceWith(replacement); }
  }

  function mergeThread(fresh) {
    var thread = document.getElementById("thread");
    var freshThread = fresh.getElementById("thread");
    if (!thread || !freshThread) { return; }
    Array.prototype.forEach.call(freshThread.children, function (item) {
      var current = document.getElementById(item.id);
      if (!current) {
        item.classList.add("fresh");
        thread.appendChild(document.importNode(item, true));
      } else if (!busy(current)) {
        current.replaceWith(document.importNode(item, true));
      }
    });
    var empty = document.getElementById("no-replies");
    if (empty && thread.children.length > 0) { empty.remove(); }
  }

  function refresh() {
    pending = null;
    fetch(window.location.pathname, { headers: { Accept: "text/html" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html");
        ["status", "status-aside", "reactions"].forEach(function (id) { swap(id, fresh); });
        mergeThread(fresh);
      })
      .catch(function () { /* the next event tries again */ });
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    var socket = new WebSocket(scheme + "//" + window.location.host + "/api/v1/stream");
    socket.addEventListener("open", function () {
      socket.send(JSON.stringify({ type: "subscribe", team_id: teamId, after: after }));
    });
    socket.addEventListener("message", function (message) {
      var event;
      try { event = JSON.parse(message.data); } catch (error) { return; }
      if (event.type === "subscribed") { delay = 1000; root.setAttribute("data-live", "on"); return; }
      if (typeof event.seq === "number" && event.type !== "heartbeat" && event.type !== "pong") {
        after = Math.max(after, event.seq);
      }
      if (concernsUs(event) && pending === null) { pending = window.setTimeout(refresh, 100); }
    });
    socket.addEventListener("close", function (close) {
      root.setAttribute("data-live", "off");
      // Signed out, removed or refused: do not knock again; the page still works by reloading.
      if (close.code === 4401 || close.code === 4403 || close.code === 4404) { return; }
      window.setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    });
  }

  connect();
}());
