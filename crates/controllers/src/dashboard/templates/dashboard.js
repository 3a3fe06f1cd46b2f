// Live pages without reload: on each `change` event from /events, fetch this page again and swap
// its <main>. Without JavaScript, pages are simply static.
(function () {
  if (!window.EventSource) return;
  var busy = false, again = false;
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(location.href, { credentials: "same-origin" }).then(function (r) { return r.text(); }).then(function (html) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      var next = doc.getElementById("main");
      if (next) {
        document.getElementById("main").innerHTML = next.innerHTML;
        var live = document.getElementById("live");
        if (live) live.textContent = "updated " + new Date().toLocaleTimeString();
      }
    }).catch(function () {}).then(function () {
      busy = false;
      if (again) { again = false; refresh(); }
    });
  }
  var events = new EventSource("/events");
  events.addEventListener("change", refresh);
  // A browser allows six connections per server: a stream left open by a page kept in the
  // back/forward cache would starve the next pages.
  window.addEventListener("pagehide", function () { events.close(); });
  window.gatefedEvents = events;
})();
