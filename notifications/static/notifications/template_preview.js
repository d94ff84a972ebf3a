/* Live preview of a notification template (console): after typing stops, the form is posted with
   action=preview and the page's preview and error are swapped for the answer's. Nothing is saved. */
(function () {
  var form = document.querySelector("[data-testid=template-form]");
  if (!form || !window.fetch || !window.DOMParser) { return; }
  var timer = null;
  var seq = 0;

  function swap(doc, testid) {
    var fresh = doc.querySelector("[data-testid=" + testid + "]");
    var old = document.querySelector("[data-testid=" + testid + "]");
    if (old && fresh) { old.replaceWith(fresh); }
    else if (old) { old.remove(); }
    else if (fresh) {
      if (testid === "template-error") { form.parentNode.insertBefore(fresh, form); }
      else { form.parentNode.insertBefore(fresh, form.nextSibling); }
    }
  }

  function preview() {
    var mine = ++seq;
    var data = new FormData(form);
    data.set("action", "preview");
    fetch(window.location.pathname, { method: "POST", body: data, credentials: "same-origin" })
      .then(function (resp) { return resp.text(); })
      .then(function (html) {
        if (mine !== seq) { return; }  /* a newer preview is on its way */
        var doc = new DOMParser().parseFromString(html, "text/html");
        swap(doc, "template-error");
        swap(doc, "template-preview");
      })
      .catch(function () { /* offline: the Preview button still works */ });
  }

  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(preview, 400);
  });
})();
