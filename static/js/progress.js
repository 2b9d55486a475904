// The invoicing page while a run or a paper batch is under way: every few
// seconds, the progress bars follow the worker; once one of them is over,
// the page is reloaded to show its summary or its file. Without script,
// the page's "Reload" link does the same.
(function () {
  "use strict";
  var box = document.getElementById("run-progress");
  if (!box || !window.fetch) { return; }
  var news = document.getElementById("progress-news");
  var waiting = ["queued", "running"];
  function show(kind, item) {
    var bar = box.querySelector("progress[data-" + kind + "='" + item.id + "']");
    var text = box.querySelector("[data-" + kind + "-text='" + item.id + "']");
    if (!bar) { return false; }
    if (waiting.indexOf(item.status) < 0) { return true; }
    bar.max = Math.max(item.total, 1);
    bar.value = item.done;
    if (text) {
      text.querySelector("[data-done]").textContent = item.done;
      text.querySelector("[data-total]").textContent = item.total;
    }
    return false;
  }
  function poll() {
    fetch(box.dataset.url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
      .then(function (data) {
        var over = false;
        data.runs.forEach(function (run) { over = show("run", run) || over; });
        data.batches.forEach(function (batch) { over = show("batch", batch) || over; });
        if (over) { window.location.reload(); return; }
        window.setTimeout(poll, 2000);
      })
      .catch(function () {
        if (news) { news.hidden = false; }
        window.setTimeout(poll, 10000);
      });
  }
  window.setTimeout(poll, 2000);
})();
