// Live updates: while a page's <main> is marked live, it is fetched again every two seconds and
// its content swapped in place (the server renders it; this only moves it). A page that is no
// longer live (a job that ended) stops asking. Without JavaScript, a reload does the same.
(function () {
  "use strict";
  var PERIOD_MS = 2000;
  function live(main) { return main && main.getAttribute("data-live") === "true"; }
  function refresh() {
    var main = document.getElementById("content");
    if (!live(main)) { return; }
    if (document.hidden) { return schedule(); }
    // The address without any user:password in it, which fetch refuses.
    var here = window.location;
    fetch(here.protocol + "//" + here.host + here.pathname + here.search,
          { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (text) {
        var page = new DOMParser().parseFromString(text, "text/html");
        var next = page.getElementById("content");
        if (next) {
          // Keep open <details> open across refreshes.
          var open = Array.prototype.map.call(main.querySelectorAll("details[open]"), function (d) {
            return d.parentElement && d.parentElement.id;
          });
          main.replaceWith(next);
          open.forEach(function (id) {
            var d = id && document.querySelector("#" + id + " > details");
            if (d) { d.open = true; }
          });
          document.title = page.title || document.title;
        }
      })
      .catch(function () { /* the scheduler may be restarting: ask again later */ })
      .then(schedule);
  }
  function schedule() { window.setTimeout(refresh, PERIOD_MS); }
  schedule();
})();
