/* An export's progress bar: polls the job's JSON status until it is done or failed, then shows the
   download link. Served from our origin (CSP: no inline script). */
(function () {
  var box = document.querySelector("[data-export]");
  if (!box) return;
  var bar = box.querySelector("[data-testid=export-progress]");
  var status = box.querySelector("[data-testid=export-status]");
  var rows = box.querySelector("[data-testid=export-rows]");
  var error = box.querySelector("[data-testid=export-error]");
  var link = box.querySelector("[data-testid=export-download]");
  function poll() {
    fetch(box.getAttribute("data-status-url"), {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (s) {
        bar.value = s.progress;
        bar.textContent = s.progress + "%";
        rows.textContent = s.rows;
        status.setAttribute("data-status", s.status);
        status.textContent = box.getAttribute("data-label-" + s.status) || s.status;
        if (s.status === "done") { link.href = s.download; link.hidden = false; return; }
        if (s.status === "failed") { error.textContent = s.error; error.hidden = false; return; }
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  if (status.getAttribute("data-status") !== "done") poll();
})();
