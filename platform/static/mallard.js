/* Mallard's page behaviour, from our own origin so the Content-Security-Policy can refuse inline
   script (config.settings CONTENT_SECURITY_POLICY): no onchange=/onclick= attributes in templates. */
(function () {
  /* tell the server our time zone, so times are shown in it (core.middleware.ViewerTimezoneMiddleware) */
  try {
    var z = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (z && document.cookie.indexOf("tz=" + z) < 0) {
      document.cookie = "tz=" + z + ";path=/;max-age=31536000;samesite=lax";
    }
  } catch (e) { /* no Intl: DISPLAY_TIME_ZONE applies */ }

  /* <select data-autosubmit>: choosing submits its form (the `form` attribute is honoured) */
  document.addEventListener("change", function (e) {
    var el = e.target;
    if (el && el.matches && el.matches("[data-autosubmit]") && el.form) {
      if (el.form.requestSubmit) { el.form.requestSubmit(); } else { el.form.submit(); }
    }
  });

  /* <select data-fill-body>: choosing an option copies its data-body into the form's "body" field
     (canned replies on a ticket) */
  document.addEventListener("change", function (e) {
    var el = e.target;
    if (el && el.matches && el.matches("[data-fill-body]") && el.form && el.value) {
      var opt = el.options[el.selectedIndex];
      if (opt && opt.dataset.body !== undefined && el.form.elements.body) { el.form.elements.body.value = opt.dataset.body; }
    }
  });

  /* <input data-select-on-click>: a click selects the whole value (links to copy) */
  document.addEventListener("click", function (e) {
    var el = e.target;
    if (el && el.matches && el.matches("[data-select-on-click]")) { el.select(); }
  });
})();
